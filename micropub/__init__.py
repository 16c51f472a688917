"""Hearth's Micropub server: https://www.w3.org/TR/micropub/

`micropub.parse` is the pure part (request bodies in, validated requests and mf2 properties
out) and `micropub.errors` its error hierarchy; the endpoint does the IO around them.
"""
