"""The clinic's formats (settings.FORMAT_MODULE_PATH): one way to write a date and a time in
every language, on every page and in Django Admin.

Django's own Chinese formats write dates as "2026年12月6日" and read/write form dates as
"2026/12/06" — which an <input type="date"> rejects (it only takes ISO), so the appointment
list's date filter came out blank in Chinese. Both languages share the ISO forms here.
"""
