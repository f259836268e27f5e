"""The site's URLs: the home page, and the lists app under /lists/."""

from django.urls import include, path

from superlists.lists import views

urlpatterns = [
    path("", views.home_page, name="home"),
    path("lists/", include("superlists.lists.urls")),
]
