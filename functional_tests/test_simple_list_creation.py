import re

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from functional_tests.base import FunctionalTest, wait


class NewVisitorTest(FunctionalTest):
    def test_can_start_a_list_for_one_user(self) -> None:
        # Edith has heard about a cool new online to-do app. She goes to its home page.
        self.browser.get(self.live_server_url)

        # She notices the page title and header mention to-do lists.
        self.assertIn("To-Do", self.browser.title)
        header_text = self.browser.find_element(By.TAG_NAME, "h1").text
        self.assertIn("To-Do", header_text)

        # She is invited to enter a to-do item straight away.
        inputbox = self.get_item_input_box()
        self.assertEqual(inputbox.get_attribute("placeholder"), "Enter a to-do item")

        # She types "Buy peacock feathers" and hits enter: the page lists it.
        inputbox.send_keys("Buy peacock feathers")
        inputbox.send_keys(Keys.ENTER)
        self.wait_for_row_in_list_table("1: Buy peacock feathers")

        # There is still a text box inviting her to add another item.
        self.add_list_item("Use peacock feathers to make a fly")

        # The page now shows both items on her list, in order.
        self.wait_for_row_in_list_table("1: Buy peacock feathers")
        self.wait_for_row_in_list_table("2: Use peacock feathers to make a fly")

    def test_multiple_users_can_start_lists_at_different_urls(self) -> None:
        # Edith starts a new to-do list.
        self.browser.get(self.live_server_url)
        self.add_list_item("Buy peacock feathers")

        # Her list has a unique URL.
        edith_list_url = self.browser.current_url
        self.assertRegex(edith_list_url, "/lists/.+")

        # Francis comes along in a fresh browser session, so nothing of Edith's comes with him.
        self.restart_browser()

        # He visits the home page: there is no sign of Edith's list.
        self.browser.get(self.live_server_url)
        page_text = self.browser.find_element(By.TAG_NAME, "body").text
        self.assertNotIn("Buy peacock feathers", page_text)
        self.assertNotIn("make a fly", page_text)

        # He starts a list of his own.
        self.add_list_item("Buy milk")

        # He gets his own unique URL.
        francis_list_url = self.browser.current_url
        self.assertRegex(francis_list_url, "/lists/.+")
        self.assertNotEqual(francis_list_url, edith_list_url)

        # Still no trace of Edith's list, and his item is there.
        page_text = self.browser.find_element(By.TAG_NAME, "body").text
        self.assertNotIn("Buy peacock feathers", page_text)
        self.assertIn("Buy milk", page_text)

        # Edith's list, revisited, still has only her item.
        self.browser.get(edith_list_url)
        self.wait_for_row_in_list_table("1: Buy peacock feathers")
        body = self.browser.find_element(By.TAG_NAME, "body").text
        self.assertNotIn("Buy milk", body)
        self.assertTrue(re.search(r"/lists/[^/]+/$", edith_list_url))


class BadInputTest(FunctionalTest):
    def test_empty_item_shows_an_error_and_saves_nothing(self) -> None:
        # Edith hits Enter on the empty input box.
        self.browser.get(self.live_server_url)
        self.get_item_input_box().send_keys(Keys.ENTER)

        # The home page refreshes with an error saying items cannot be blank.
        wait(
            lambda: self.assertEqual(
                self.browser.find_element(By.CSS_SELECTOR, ".invalid-feedback").text,
                "You can't have an empty list item",
            )
        )
        self.assertEqual(self.browser.find_element(By.TAG_NAME, "h1").text, "Start a new To-Do list")

        # She tries again with some text, which works, then an empty one on her list page.
        self.add_list_item("Buy milk")
        self.get_item_input_box().send_keys(Keys.ENTER)
        wait(lambda: self.assertTrue(self.browser.find_element(By.CSS_SELECTOR, ".invalid-feedback").is_displayed()))
        rows = self.browser.find_elements(By.CSS_SELECTOR, "#id_list_table tr")
        self.assertEqual([row.text for row in rows], ["1: Buy milk"])

    def test_markup_in_an_item_is_shown_as_text(self) -> None:
        self.browser.get(self.live_server_url)
        self.add_list_item("<script>document.title='pwned'</script><b>bold</b>")
        self.assertEqual(self.browser.title, "To-Do lists")
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#id_list_table b"), [])

    def test_a_very_long_item_wraps_inside_the_page(self) -> None:
        self.browser.get(self.live_server_url)
        self.add_list_item("supercalifragilistic" * 50)
        page_width = self.browser.execute_script("return document.documentElement.scrollWidth")
        viewport = self.browser.execute_script("return window.innerWidth")
        self.assertLessEqual(page_width, viewport)
