"""`python -m tests.syndication.fake_instagram --port 8910`: serve a seeded fake by hand."""

from tests.syndication.fake_instagram.serving import main

if __name__ == "__main__":
    main()
