from django.apps import AppConfig


class ListsConfig(AppConfig):
    """To-do lists and their items; the label stays `lists`, as in the book."""

    name = "superlists.lists"
    label = "lists"
    default_auto_field = "django.db.models.BigAutoField"
