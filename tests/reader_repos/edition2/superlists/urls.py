"""superlists URL Configuration

The `urlpatterns` list routes URLs to views. For more information please see:
    https://docs.djangoproject.com/en/1.11/topics/http/urls/
"""

from django.conf.urls import url
from lists import views

urlpatterns = [
    url(r"^$", views.home_page, name="home"),
    url(r"^lists/new$", views.new_list, name="new_list"),
    url(r"^lists/(\d+)/$", views.view_list, name="view_list"),
    url(r"^lists/(\d+)/add_item$", views.add_item, name="add_item"),
]
