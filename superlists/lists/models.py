"""A to-do list and its items, kept in the order they were added."""

from django.db import models
from django.urls import reverse


class List(models.Model):
    def get_absolute_url(self) -> str:
        return reverse("view_list", args=[self.id])


class Item(models.Model):
    text = models.TextField()
    list = models.ForeignKey(List, on_delete=models.CASCADE, related_name="items")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text
