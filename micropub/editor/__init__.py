"""The admin's editor: write, edit, preview, delete and undelete posts in the browser.

It is a Micropub client of the site's own endpoint's code path (issue #12)."""
