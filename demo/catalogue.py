"""The demo clinic's charges: allergy classes, a community clinic's fee catalogue (about
thirty items), two insurance plans and the registration fee of each doctor's rank.

`seed_catalogue()` is idempotent (update_or_create by natural key: a class's or an item's
code, a plan's name, a rank): a second run changes nothing, and a run after the demo's
prices were edited puts them back. Called by `seed_demo` and `generate_demo_history`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from clinic.models import (
    AllergyClass,
    DoctorRank,
    FeeCategory,
    FeeItem,
    InsuranceClass,
    InsurancePlan,
    RegistrationFee,
)

ALLERGY_CLASSES = [
    # code, name, English name
    ("penicillins", "青霉素类", "Penicillins"),
    ("cephalosporins", "头孢菌素类", "Cephalosporins"),
    ("sulfonamides", "磺胺类", "Sulfonamides"),
    ("quinolones", "喹诺酮类", "Quinolones"),
    ("nsaids", "非甾体抗炎药", "NSAIDs"),
]

A, B, C = InsuranceClass.A, InsuranceClass.B, InsuranceClass.C
REG, CONS, EXAM, LAB, TREAT, MAT = (
    FeeCategory.REGISTRATION,
    FeeCategory.CONSULTATION,
    FeeCategory.EXAMINATION,
    FeeCategory.LABORATORY,
    FeeCategory.TREATMENT,
    FeeCategory.MATERIAL,
)

# Registration fees, one per rank (挂号费).
REGISTRATION_ITEMS = [
    # code, name, price, rank
    ("GH001", "主任医师挂号费", "25.00", DoctorRank.CHIEF),
    ("GH002", "副主任医师挂号费", "18.00", DoctorRank.ASSOCIATE_CHIEF),
    ("GH003", "主治医师挂号费", "12.00", DoctorRank.ATTENDING),
    ("GH004", "医师挂号费", "8.00", DoctorRank.RESIDENT),
]

# Services: consultation, examinations, laboratory tests, treatments, materials.
SERVICE_ITEMS = [
    # code, name, category, unit, price, class
    ("ZC001", "普通门诊诊查费", CONS, "次", "10.00", A),
    ("JC001", "胸部正位X线摄影", EXAM, "次", "60.00", A),
    ("JC002", "常规心电图", EXAM, "次", "25.00", A),
    ("JC003", "腹部B超", EXAM, "次", "120.00", B),
    ("JY001", "血常规", LAB, "次", "20.00", A),
    ("JY002", "尿常规", LAB, "次", "15.00", A),
    ("JY003", "肝功能", LAB, "次", "60.00", B),
    ("JY004", "血糖测定", LAB, "次", "8.00", A),
    ("ZL001", "静脉输液", TREAT, "次", "15.00", A),
    ("ZL002", "清创换药", TREAT, "次", "30.00", A),
    ("ZL003", "雾化吸入", TREAT, "次", "18.00", B),
    ("CL001", "一次性输液器", MAT, "套", "3.50", B),
    ("CL002", "医用纱布", MAT, "包", "2.00", C),
]

# Drugs (药品): what a box holds, so that an order's quantity follows from its doses.
DRUG_ITEMS = [
    # code, name, unit, price, class, specification, dosage form, default usage,
    # dose unit, doses per unit, allergy classes
    ("YP001", "阿莫西林胶囊", "盒", "12.80", A, "0.25g×24粒/盒", "胶囊", "口服", "粒", 24,
     ["penicillins"]),
    ("YP002", "头孢克洛胶囊", "盒", "28.50", B, "0.25g×12粒/盒", "胶囊", "口服", "粒", 12,
     ["cephalosporins"]),
    ("YP003", "复方磺胺甲噁唑片", "瓶", "9.60", A, "0.48g×100片/瓶", "片剂", "口服", "片", 100,
     ["sulfonamides"]),
    ("YP004", "左氧氟沙星片", "盒", "19.80", B, "0.5g×4片/盒", "片剂", "口服", "片", 4,
     ["quinolones"]),
    ("YP005", "布洛芬缓释胶囊", "盒", "15.20", A, "0.3g×20粒/盒", "胶囊", "口服，饭后", "粒", 20,
     ["nsaids"]),
    ("YP006", "盐酸二甲双胍片", "盒", "11.40", A, "0.5g×48片/盒", "片剂", "口服，随餐", "片", 48,
     []),
    ("YP007", "苯磺酸氨氯地平片", "盒", "18.90", A, "5mg×28片/盒", "片剂", "口服", "片", 28, []),
    ("YP008", "奥美拉唑肠溶胶囊", "盒", "16.80", A, "20mg×14粒/盒", "胶囊", "口服，饭前", "粒", 14,
     []),
    ("YP009", "氯雷他定片", "盒", "22.00", B, "10mg×6片/盒", "片剂", "口服", "片", 6, []),
    ("YP010", "蒙脱石散", "盒", "13.50", B, "3g×10袋/盒", "散剂", "冲服", "袋", 10, []),
    ("YP011", "复合维生素B片", "瓶", "6.50", C, "100片/瓶", "片剂", "口服", "片", 100, []),
    ("YP012", "0.9%氯化钠注射液", "袋", "4.50", A, "250ml/袋", "注射液", "静脉滴注", "袋", 1, []),
]  # fmt: skip

INSURANCE_PLANS = [
    # name, English name, coverage of classes A, B, C (percent)
    ("城镇职工", "Urban employees' medical insurance", 90, 70, 0),
    ("城乡居民", "Urban and rural residents' medical insurance", 80, 60, 0),
]


@transaction.atomic
def seed_catalogue() -> None:
    """The demo's allergy classes, fee items, insurance plans and registration fees."""
    classes = {
        code: AllergyClass.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en}
        )[0]
        for code, name, name_en in ALLERGY_CLASSES
    }
    for code, name, price, rank in REGISTRATION_ITEMS:
        item, _ = FeeItem.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "category": REG,
                "unit": "次",
                "unit_price": Decimal(price),
                "insurance_class": A,
                "is_active": True,
            },
        )
        RegistrationFee.objects.update_or_create(rank=rank, defaults={"fee_item": item})
    for code, name, category, unit, price, insurance_class in SERVICE_ITEMS:
        FeeItem.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "unit": unit,
                "unit_price": Decimal(price),
                "insurance_class": insurance_class,
                "is_active": True,
            },
        )
    for (
        code,
        name,
        unit,
        price,
        insurance_class,
        specification,
        dosage_form,
        usage,
        dose_unit,
        doses_per_unit,
        allergies,
    ) in DRUG_ITEMS:
        item, _ = FeeItem.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "category": FeeCategory.DRUG,
                "unit": unit,
                "unit_price": Decimal(price),
                "insurance_class": insurance_class,
                "specification": specification,
                "dosage_form": dosage_form,
                "default_usage": usage,
                "dose_unit": dose_unit,
                "doses_per_unit": Decimal(doses_per_unit),
                "is_active": True,
            },
        )
        item.allergy_classes.set([classes[code] for code in allergies])
    for name, name_en, coverage_a, coverage_b, coverage_c in INSURANCE_PLANS:
        InsurancePlan.objects.update_or_create(
            name=name,
            defaults={
                "name_en": name_en,
                "coverage_a": Decimal(coverage_a),
                "coverage_b": Decimal(coverage_b),
                "coverage_c": Decimal(coverage_c),
                "is_active": True,
            },
        )
