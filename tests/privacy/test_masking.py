"""The pure masking rules: who sees people, and how each kind of identifier is masked."""

from __future__ import annotations

from tenure.privacy.masking import (
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
    mask_value,
    reveals,
)


def test_admins_managers_and_the_accounts_csm_see_people():
    assert reveals("admin", "a@x.com", None) and reveals("manager", "m@x.com", "c@x.com")
    assert reveals("csm", "Csm@X.com", "csm@x.com")
    assert not reveals("csm", "other@x.com", "csm@x.com")
    assert not reveals("csm", "csm@x.com", None)
    assert not reveals("analyst", "csm@x.com", "csm@x.com")
    assert not reveals("viewer", "v@x.com", "v@x.com")


def test_identifiers_are_masked_in_fields_and_free_text():
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert mask_name("Jane  Doe") == "J*** D***"
    assert mask_phone("+44 20 7946 0958") == "+** ** **** **58"
    text = "Jane Doe (jane.doe@example.com, +1 415 555 0199) renews on 2026-01-15, 12 seats"
    assert mask_text(text, ["Jane Doe"]) == (
        "J*** D*** (j***@example.com, +* *** *** **99) renews on 2026-01-15, 12 seats"
    )
    assert mask_text("ask doe about it", ["Jane Doe"]) == "ask d*** about it"
    props = {"email": "x@y.io", "first_name": "Ann", "phone": "5551234567", "plan": "pro",
             "items": [{"note": "from jane.doe@example.com"}], "count": 3}  # fmt: skip
    assert mask_value(props) == {
        "email": "x***@y.io", "first_name": "A***", "phone": "********67", "plan": "pro",
        "items": [{"note": "from j***@example.com"}], "count": 3,
    }  # fmt: skip
