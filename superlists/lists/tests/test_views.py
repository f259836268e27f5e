from django.test import TestCase
from django.utils.html import escape

from superlists.lists.forms import EMPTY_ITEM_ERROR, MAX_ITEM_LENGTH
from superlists.lists.models import Item, List


class HomePageTest(TestCase):
    def test_uses_home_template(self) -> None:
        response = self.client.get("/")
        self.assertTemplateUsed(response, "lists/home.html")

    def test_shows_the_contract_title_header_and_input(self) -> None:
        response = self.client.get("/")
        self.assertContains(response, "<title>To-Do lists</title>", html=True)
        self.assertContains(response, "Start a new To-Do list")
        self.assertContains(response, 'id="id_new_item"')
        self.assertContains(response, 'name="item_text"')
        self.assertContains(response, 'placeholder="Enter a to-do item"')

    def test_form_posts_to_new_list_with_csrf_token(self) -> None:
        response = self.client.get("/")
        self.assertContains(response, 'method="POST" action="/lists/new"')
        self.assertContains(response, "csrfmiddlewaretoken")

    def test_only_saves_items_when_necessary(self) -> None:
        self.client.get("/")
        self.assertEqual(Item.objects.count(), 0)
        self.assertEqual(List.objects.count(), 0)

    def test_home_page_refuses_post(self) -> None:
        self.assertEqual(self.client.post("/", {"item_text": "x"}).status_code, 405)

    def test_serves_its_stylesheet_from_the_sites_own_static_files(self) -> None:
        response = self.client.get("/")
        self.assertContains(response, 'href="/static/bootstrap/css/bootstrap.min.css"')


class NewListTest(TestCase):
    def test_can_save_a_post_request(self) -> None:
        self.client.post("/lists/new", data={"item_text": "A new list item"})
        self.assertEqual(Item.objects.count(), 1)
        self.assertEqual(Item.objects.get().text, "A new list item")

    def test_redirects_after_post_to_the_new_lists_page(self) -> None:
        response = self.client.post("/lists/new", data={"item_text": "A new list item"})
        self.assertRedirects(response, f"/lists/{List.objects.get().id}/")

    def test_each_post_makes_its_own_list(self) -> None:
        self.client.post("/lists/new", data={"item_text": "one"})
        self.client.post("/lists/new", data={"item_text": "two"})
        self.assertEqual(List.objects.count(), 2)

    def test_empty_item_is_refused_with_a_visible_error_and_nothing_saved(self) -> None:
        for blank in ["", "   ", "\n\t"]:
            response = self.client.post("/lists/new", data={"item_text": blank})
            self.assertTemplateUsed(response, "lists/home.html")
            self.assertContains(response, escape(EMPTY_ITEM_ERROR))
        self.assertEqual(List.objects.count(), 0)
        self.assertEqual(Item.objects.count(), 0)

    def test_missing_field_is_treated_as_empty(self) -> None:
        response = self.client.post("/lists/new", data={})
        self.assertContains(response, escape(EMPTY_ITEM_ERROR))
        self.assertEqual(List.objects.count(), 0)

    def test_surrounding_whitespace_is_trimmed(self) -> None:
        self.client.post("/lists/new", data={"item_text": "  tidy  "})
        self.assertEqual(Item.objects.get().text, "tidy")

    def test_too_long_item_is_refused_and_the_typed_text_kept(self) -> None:
        text = "x" * (MAX_ITEM_LENGTH + 1)
        response = self.client.post("/lists/new", data={"item_text": text})
        self.assertContains(response, f"at most {MAX_ITEM_LENGTH} characters")
        self.assertContains(response, f"this one has {MAX_ITEM_LENGTH + 1}")
        self.assertContains(response, f'value="{text}"')
        self.assertEqual(Item.objects.count(), 0)

    def test_longest_allowed_item_is_saved_whole(self) -> None:
        text = "y" * MAX_ITEM_LENGTH
        self.client.post("/lists/new", data={"item_text": text})
        self.assertEqual(Item.objects.get().text, text)

    def test_get_is_not_allowed(self) -> None:
        self.assertEqual(self.client.get("/lists/new").status_code, 405)


class ListViewTest(TestCase):
    def test_uses_list_template(self) -> None:
        list_ = List.objects.create()
        response = self.client.get(f"/lists/{list_.id}/")
        self.assertTemplateUsed(response, "lists/list.html")

    def test_shows_header_and_numbered_rows_in_order(self) -> None:
        list_ = List.objects.create()
        Item.objects.create(list=list_, text="Buy peacock feathers")
        Item.objects.create(list=list_, text="Use peacock feathers to make a fly")
        response = self.client.get(f"/lists/{list_.id}/")
        self.assertContains(response, "Your To-Do list")
        self.assertContains(response, 'id="id_list_table"')
        content = response.content.decode()
        first = content.index("1: Buy peacock feathers")
        second = content.index("2: Use peacock feathers to make a fly")
        self.assertLess(first, second)

    def test_displays_only_items_for_that_list(self) -> None:
        correct_list = List.objects.create()
        Item.objects.create(list=correct_list, text="itemey 1")
        other_list = List.objects.create()
        Item.objects.create(list=other_list, text="other list item")

        response = self.client.get(f"/lists/{correct_list.id}/")

        self.assertContains(response, "itemey 1")
        self.assertNotContains(response, "other list item")

    def test_passes_correct_list_to_template(self) -> None:
        List.objects.create()
        correct_list = List.objects.create()
        response = self.client.get(f"/lists/{correct_list.id}/")
        self.assertEqual(response.context["list"], correct_list)

    def test_form_posts_back_to_the_same_list(self) -> None:
        list_ = List.objects.create()
        response = self.client.get(f"/lists/{list_.id}/")
        self.assertContains(response, f'method="POST" action="/lists/{list_.id}/"')

    def test_can_save_a_post_request_to_an_existing_list(self) -> None:
        List.objects.create()
        correct_list = List.objects.create()
        self.client.post(f"/lists/{correct_list.id}/", data={"item_text": "A new item"})
        self.assertEqual(Item.objects.get().list, correct_list)

    def test_post_redirects_to_the_list_view(self) -> None:
        list_ = List.objects.create()
        response = self.client.post(f"/lists/{list_.id}/", data={"item_text": "x"})
        self.assertRedirects(response, f"/lists/{list_.id}/")

    def test_empty_item_on_a_list_page_shows_the_error_there(self) -> None:
        list_ = List.objects.create()
        Item.objects.create(list=list_, text="kept")
        response = self.client.post(f"/lists/{list_.id}/", data={"item_text": ""})
        self.assertTemplateUsed(response, "lists/list.html")
        self.assertContains(response, escape(EMPTY_ITEM_ERROR))
        self.assertContains(response, "1: kept")
        self.assertEqual(Item.objects.count(), 1)

    def test_item_text_is_escaped(self) -> None:
        list_ = List.objects.create()
        Item.objects.create(list=list_, text="<script>alert('pwned')</script>")
        response = self.client.get(f"/lists/{list_.id}/")
        self.assertNotContains(response, "<script>alert")
        self.assertContains(response, "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;")

    def test_unknown_list_is_404(self) -> None:
        self.assertEqual(self.client.get("/lists/999/").status_code, 404)
        self.assertEqual(self.client.post("/lists/999/", {"item_text": "x"}).status_code, 404)
        self.assertEqual(self.client.get("/lists/not-a-number/").status_code, 404)


class CsrfTest(TestCase):
    def test_post_without_csrf_token_is_refused(self) -> None:
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        response = client.post("/lists/new", data={"item_text": "sneaky"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Item.objects.count(), 0)
