"""What every form page shares: the errors of a refused form, keyed by field,
for the error summary and the message next to each field (GOV.UK pattern)."""
from web.api import ApiError


# The API's kinds of space and what they offer (contracts/vocabulary.py), which
# the pages know only as the API documents them.
SPACE_KINDS = ("desk", "meeting_room", "teleconsultation_booth", "visio_room", "study_room")
SPACE_FEATURES = ("screen", "camera", "connected_medical_devices", "wheelchair_accessible",
                  "soundproof", "exam_suitable")


class FormErrors(dict):
    """field name → message; ``summary`` lists them in the form's order."""

    def add(self, field, message):
        self.setdefault(field, message)
        return self

    @classmethod
    def from_api(cls, error: ApiError, known_fields=(), fallback="form"):
        errors = cls()
        for field, message in error.fields.items():
            name = field.split(".")[0]
            errors.add(name if name in known_fields else fallback, message)
        if not errors:
            errors.add(fallback, error.detail)
        return errors


def required(form, errors, _, *names):
    for name in names:
        if not (form.get(name) or "").strip():
            errors.add(name, _("Enter this information."))


def show_once(visit, created):
    """Keep a secret just made (a key, a webhook's signing secret) for the page
    the browser is sent to next, and only for it: post, redirect, get, so a
    reload neither makes another nor shows this one again."""
    visit.session["shown_once"] = created


def take_shown_once(visit):
    return visit.session.pop("shown_once", None)
