"""Pinyin search keys of a name: full pinyin (`zhangsan`) and initials (`zs`), lower case.

A name may be read more than one way: a given name's character may have several readings (长
chang/zhang, 乐 le/yue), and each one is searchable, so a name has a few keys of each kind (the
most likely reading first, then readings that change one or two characters, at most
`MAX_KEYS_PER_KIND`). A surname is read as a surname (曾 zeng, not ceng; 单 shan; 解 xie …),
compound surnames (欧阳, 司马, 诸葛 …) as one. Letters and digits of other scripts' names are
kept (accents dropped, `Müller` → `muller`), each word giving its first letter to the
initials (`John Smith` → `johnsmith`, `js`); spaces and signs (·, -, ') are left out.

Pure functions: the stored keys (clinic.models.PatientNameKey, FeeItemNameKey) are kept by
clinic.name_keys, and the search rule reading them is clinic.search.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

# Names are not phrases: every character's readings come from pypinyin's character
# dictionary (its phrase dictionary, about 45 MB in every worker process, reads words in
# context; a name's alternative readings are keys anyway). Documented pypinyin settings,
# read when it is first imported.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "true")

from pypinyin import Style, lazy_pinyin, pinyin

# The stored column's width: longer keys are cut (a prefix search still finds them).
MAX_KEY_LENGTH = 64
MAX_KEYS_PER_KIND = 8
# Alternative readings tried per character (pypinyin lists the common ones first).
MAX_READINGS_PER_CHARACTER = 3

# Surnames read otherwise than their character's most common reading, or with more than one
# reading as a surname (the first is the usual one); compound surnames as one reading, syllables
# apart.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    # Compound surnames (复姓).
    "欧阳": ("ou yang",),
    "司马": ("si ma",),
    "诸葛": ("zhu ge",),
    "上官": ("shang guan",),
    "东方": ("dong fang",),
    "皇甫": ("huang fu",),
    "尉迟": ("yu chi",),
    "万俟": ("mo qi",),
    "长孙": ("zhang sun",),
    "澹台": ("tan tai",),
    "令狐": ("ling hu",),
    "宇文": ("yu wen",),
    "夏侯": ("xia hou",),
    "公孙": ("gong sun",),
    "慕容": ("mu rong",),
    "司徒": ("si tu",),
    "司空": ("si kong",),
    "端木": ("duan mu",),
    "轩辕": ("xuan yuan",),
    "呼延": ("hu yan",),
    "单于": ("chan yu",),
    "太史": ("tai shi",),
    "申屠": ("shen tu",),
    "南宫": ("nan gong",),
    "独孤": ("du gu",),
    "闻人": ("wen ren",),
    "公冶": ("gong ye",),
    "赫连": ("he lian",),
    "钟离": ("zhong li",),
    "百里": ("bai li",),
    # Single surnames whose surname reading differs from the character's usual one.
    "曾": ("zeng",),
    "单": ("shan",),
    "解": ("xie",),
    "仇": ("qiu",),
    "区": ("ou",),
    "查": ("zha",),
    "朴": ("piao",),
    "盖": ("ge", "gai"),
    "缪": ("miao",),
    "翟": ("zhai",),
    "乐": ("yue", "le"),
    "覃": ("qin", "tan"),
    "尉": ("wei", "yu"),
    "种": ("chong",),
    "秘": ("bi",),
    "召": ("shao",),
    "员": ("yun",),
    "繁": ("po",),
    "句": ("gou",),
    "能": ("nai",),
    "折": ("she",),
    "都": ("du",),
    "长": ("chang",),
    "重": ("chong",),
    "朝": ("chao",),
    "参": ("shen",),
    "洗": ("xian",),
    "冼": ("xian",),
    "纪": ("ji",),
    "柏": ("bai",),
    "薄": ("bo",),
    "宿": ("su",),
    "隗": ("wei",),
    "阚": ("kan",),
    "贲": ("ben",),
    "费": ("fei",),
    "过": ("guo",),
    "沈": ("shen",),
    "石": ("shi",),
    "任": ("ren",),
    "华": ("hua",),
    "那": ("na",),
    "藏": ("zang",),
    "曲": ("qu",),
    "祭": ("zhai",),
    "乘": ("sheng",),
    "炅": ("gui",),
    "谌": ("chen",),
    "大": ("da",),
    "蕃": ("pi",),
    "哈": ("ha",),
}
_LONGEST_SURNAME = max(len(surname) for surname in SURNAME_READINGS)

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# A name's parts: one Chinese character, or a word of letters and digits of another script.
_TOKEN = re.compile(rf"{_HAN.pattern}|[^\W_]+")
_NOT_KEY = re.compile(r"[^a-z0-9]+")


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only (accents dropped, everything else left out)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return _NOT_KEY.sub("", decomposed.encode("ascii", "ignore").decode().lower())


@lru_cache(maxsize=8192)
def _character_readings(character: str) -> tuple[str, ...]:
    """Every reading of one character, as pypinyin lists them (common first)."""
    return tuple(pinyin(character, style=Style.NORMAL, heteronym=True)[0])


def _readings(name: str) -> list[list[str]]:
    """Each part of the name with its readings, the most likely first (ASCII, lower case)."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    parts: list[list[str]] = []
    surname = ""
    for length in range(_LONGEST_SURNAME, 0, -1):
        if len(name) >= length and name[:length] in SURNAME_READINGS:
            surname = name[:length]
            readings = SURNAME_READINGS[surname]
            if length == 1:
                parts.append(list(readings))
            else:
                # A compound surname: one reading, each syllable its own initial (欧阳 oy).
                parts.extend([syllable] for syllable in readings[0].split())
            break
    rest = name[len(surname) :]
    han = [token for token in _TOKEN.findall(rest) if _HAN.fullmatch(token)]
    # The most likely reading of the whole (pypinyin reads words in context), then every
    # reading of each character.
    likely = iter(lazy_pinyin("".join(han), style=Style.NORMAL)) if han else iter(())
    for position, token in enumerate(_TOKEN.findall(rest)):
        if not _HAN.fullmatch(token):
            parts.append([_ascii(token)])
            continue
        found = [next(likely, "")]
        if surname or position:
            found += _character_readings(token)
        # else: a surname that is not in the table reads as its usual reading only.
        readings = list(dict.fromkeys(_ascii(reading) for reading in found))
        parts.append([reading for reading in readings if reading][:MAX_READINGS_PER_CHARACTER])
    return [part for part in parts if part and part[0]]


def _choices(parts: Sequence[Sequence[str]]) -> list[tuple[int, ...]]:
    """Which reading of each part, most likely first: all first readings, then one part read
    otherwise, then two (enough for `MAX_KEYS_PER_KIND` keys of each kind)."""
    first = tuple(0 for _ in parts)
    chosen = [first]
    varying = [index for index, part in enumerate(parts) if len(part) > 1]
    for count in (1, 2):
        for positions in combinations(varying, count):
            options: list[tuple[int, ...]] = [first]
            for position in positions:
                options = [
                    (*option[:position], alternative, *option[position + 1 :])
                    for option in options
                    for alternative in range(1, len(parts[position]))
                ]
            chosen.extend(options)
            if len(chosen) > 4 * MAX_KEYS_PER_KIND:
                return chosen
    return chosen


def name_keys(name: str) -> dict[str, list[str]]:
    """The search keys of a name: {"full": [...], "initials": [...]}, each without repeats,
    the most likely reading first, at most `MAX_KEYS_PER_KIND` each; empty lists for a name
    with nothing to read."""
    full, initials = _keys(name or "")
    return {"full": list(full), "initials": list(initials)}


@lru_cache(maxsize=65536)
def _keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Cached: names repeat (王伟, 张敏 …), and a bulk rebuild reads every one.
    parts = _readings(name)
    full: dict[str, None] = {}
    initials: dict[str, None] = {}
    for choice in _choices(parts):
        words = [part[index] for part, index in zip(parts, choice, strict=True)]
        if len(full) < MAX_KEYS_PER_KIND:
            full.setdefault("".join(words)[:MAX_KEY_LENGTH])
        if len(initials) < MAX_KEYS_PER_KIND:
            initials.setdefault("".join(word[0] for word in words)[:MAX_KEY_LENGTH])
    full.pop("", None)
    initials.pop("", None)
    return tuple(full), tuple(initials)


def search_key(text: str) -> str:
    """What a typed pinyin text is compared with: lower case, spaces (and signs) left out."""
    return _ascii(text)[:MAX_KEY_LENGTH]
