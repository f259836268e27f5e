"""The new-item form, shared by the home page and the list page."""

from django import forms

EMPTY_ITEM_ERROR = "You can't have an empty list item"
MAX_ITEM_LENGTH = 2000
TOO_LONG_ITEM_ERROR = f"An item can be at most {MAX_ITEM_LENGTH} characters (this one has %(show_value)d)"


class ItemForm(forms.Form):
    """Validates one item's text; the submitted text is kept on error so nothing typed is lost."""

    item_text = forms.CharField(
        strip=True,
        max_length=MAX_ITEM_LENGTH,
        error_messages={"required": EMPTY_ITEM_ERROR, "max_length": TOO_LONG_ITEM_ERROR},
    )
