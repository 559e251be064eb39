from __future__ import annotations

from django import template

from clinic import privacy
from clinic.templatetags import clinic_format

register = template.Library()

register.filter("mask_name", privacy.mask_name)
register.filter("mask_phone", privacy.mask_phone)
register.filter("mask_id_card", privacy.mask_id_card)

# The formats live in clinic_format; pages that load only clinic_tags get the same filters.
for _name, _filter in clinic_format.register.filters.items():
    register.filter(_name, _filter)

minutes_since = clinic_format.minutes_since
