"""`python -m hearth.syndication.instagram.fake --port 8910`: serve a seeded fake by hand."""

from hearth.syndication.instagram.fake.fake_serving import main

if __name__ == "__main__":
    main()
