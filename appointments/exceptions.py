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


class BookingBlocked(ClinicError):
    """Online booking is paused for a patient who missed too many appointments
    (appointments.no_shows). 403: the request is understood and the patient is known, but
    this patient may not do it now by themselves (no change of the request helps, unlike a
    409 conflict with the data); the desk may still book for them."""

    code = "booking_blocked"
    status = 403
    default_message = _(
        "Online booking is paused after several missed appointments. Please call or visit the "
        "front desk, who can still book for you."
    )

    @classmethod
    def until(cls, blocked_until: object) -> BookingBlocked:
        return cls(
            _(
                "Online booking is paused after several missed appointments: you can book "
                "online again from %(date)s. Until then the front desk can still book for you."
            )
            % {"date": blocked_until},
            details={"blocked_until": str(blocked_until)},
        )


class NoBlockToLift(ClinicError):
    code = "no_block_to_lift"
    status = 409
    default_message = _("This patient may book online: there is no block to lift.")


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
