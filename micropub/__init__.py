"""Hearth's Micropub server: https://www.w3.org/TR/micropub/

`hearth.micropub.parsing` is the pure part (request bodies in, validated requests and mf2 properties
out) and `hearth.micropub.errors` its error hierarchy; the endpoint does the IO around them.
"""
