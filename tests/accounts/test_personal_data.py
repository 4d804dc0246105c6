"""The one format of drivers' personal data for staff without the personal-data permission."""

from apps.accounts.personal_data import mask_email, mask_name, mask_token


def test_a_token_keeps_its_last_four_characters_as_printed_on_the_card():
    assert mask_token("04A1B2C3D4") == "•••C3D4"
    assert mask_token("AB") == "•••" and mask_token("") == ""


def test_names_and_emails_keep_only_initials():
    assert mask_name("Jane Doe") == "J••• D•••" and mask_name(" ") == ""
    assert mask_email("jane@example.com") == "j•••@e•••.com"
    assert mask_email("x@localhost") == "x•••@l•••" and mask_email("") == ""
