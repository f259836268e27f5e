"""Home page, new list, and a list's own page (which also takes new items)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from superlists.lists.forms import ItemForm
from superlists.lists.models import Item, List


@require_http_methods(["GET", "HEAD"])
def home_page(request: HttpRequest) -> HttpResponse:
    return render(request, "lists/home.html", {"form": ItemForm()})


@require_POST
def new_list(request: HttpRequest) -> HttpResponse:
    form = ItemForm(request.POST)
    if not form.is_valid():
        return render(request, "lists/home.html", {"form": form})
    list_ = List.objects.create()
    Item.objects.create(list=list_, text=form.cleaned_data["item_text"])
    return redirect(list_)


@require_http_methods(["GET", "HEAD", "POST"])
def view_list(request: HttpRequest, list_id: int) -> HttpResponse:
    list_ = get_object_or_404(List, id=list_id)
    form = ItemForm()
    if request.method == "POST":
        form = ItemForm(request.POST)
        if form.is_valid():
            Item.objects.create(list=list_, text=form.cleaned_data["item_text"])
            return redirect(list_)
    return render(request, "lists/list.html", {"list": list_, "form": form})
