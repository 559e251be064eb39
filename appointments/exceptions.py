from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError


class DuplicateBooking(ClinicError):
    code = "duplicate_booking"
    status = 409
    default_message = _(
        "There is already a live booking for this person in this department and slot."
    )


class NoShowTooEarly(ClinicError):
    code = "no_show_too_early"
    status = 409
    default_message = _("An appointment can be marked a no-show only after its slot has ended.")


class PlacesFree(ClinicError):
    code = "places_free"
    status = 409
    default_message = _("Places are free at that time: book one instead of waiting.")


class AlreadyWaiting(ClinicError):
    code = "already_waiting"
    status = 409
    default_message = _(
        "This person is already on the waitlist for this department, date and half-day."
    )


class OfferExpired(ClinicError):
    code = "offer_expired"
    status = 409
    default_message = _("This offer has expired; the place has gone to the next person waiting.")
