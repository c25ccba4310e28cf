"""The HTTP side: the resolver and the caller, query parameters, answers and their
representations, page tokens, bearer tokens."""
