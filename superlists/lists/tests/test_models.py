from django.test import TestCase

from superlists.lists.models import Item, List


class ListAndItemModelsTest(TestCase):
    def test_saving_and_retrieving_items_keeps_their_order(self) -> None:
        list_ = List.objects.create()
        Item.objects.create(list=list_, text="The first (ever) list item")
        Item.objects.create(list=list_, text="Item the second")

        self.assertEqual(List.objects.get(), list_)
        self.assertEqual(
            [item.text for item in Item.objects.all()],
            ["The first (ever) list item", "Item the second"],
        )
        self.assertEqual([item.list for item in Item.objects.all()], [list_, list_])

    def test_list_url_is_its_own_page(self) -> None:
        list_ = List.objects.create()
        self.assertEqual(list_.get_absolute_url(), f"/lists/{list_.id}/")

    def test_deleting_a_list_deletes_its_items(self) -> None:
        list_ = List.objects.create()
        Item.objects.create(list=list_, text="gone with it")
        list_.delete()
        self.assertEqual(Item.objects.count(), 0)

    def test_item_string_is_its_text(self) -> None:
        self.assertEqual(str(Item(text="some text")), "some text")
