"""The search syntax: what each form parses to, and a one-line error for each malformed one."""

import pytest

from ingest.search import Query, SearchSyntaxError, Term, parse


def words(*ws: str, field: str = "any") -> Term:
    return Term(tuple(ws), field)


@pytest.mark.parametrize("text, expected", [
    ("csto summit", Query(((words("csto"),), (words("summit"),)))),
    ('"collective security" treaty', Query(((words("collective", "security"),), (words("treaty"),)))),
    ("a b OR c", Query(((words("a"),), (words("b"), words("c"))))),
    ("a OR b OR c d", Query(((words("a"), words("b"), words("c")), (words("d"),)))),
    ("a -b -\"c d\"", Query(((words("a"),),), (words("b"), words("c", "d")))),
    ('title:csto title:"peace talks" Author:Smith',
     Query(((words("csto", field="title"),), (words("peace", "talks", field="title"),),
            (words("Smith", field="author"),)))),
    ("a -title:b", Query(((words("a"),),), (words("b", field="title"),))),
    ("title:OR", Query(((words("OR", field="title"),),))),
    ("a or b", Query(((words("a"),), (words("or"),), (words("b"),)))),
    ("e-mail covid_19", Query(((words("e", "mail"),), (words("covid", "19"),)))),
    ("site:example.com", Query(((words("site", "example", "com"),),))),
    ("ОДКБ  Հայաստան", Query(((words("ОДКБ"),), (words("Հայաստան"),)))),
    ("cafe\u0301", Query(((words("café"),),))),  # combining accent composed, not a word break
    ('x"y z"', Query(((words("x"),), (words("y", "z"),)))),
])
def test_parses(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, message", [
    ('"collective security', r"unbalanced quote at column 1"),
    ('a -"b', r"unbalanced quote at column 4"),
    ("a - b", r"lone '-' at column 3"),
    ("a -", r"lone '-' at column 3"),
    ("OR a", r"OR at column 1 needs a term on both sides"),
    ("a OR", r"OR at column 3 needs a term on both sides"),
    ("a OR OR b", r"OR OR at column 3"),
    ("a OR -b", r"OR at column 3 joins an exclusion"),
    ("-a OR b", r"OR at column 4 joins an exclusion"),
    ("-a -b", r"nothing to search for"),
    ("", r"nothing to search for"),
    ("a && b", r"no letters or digits in '&&' at column 3"),
    ('a ""', r"no letters or digits in '\"\"' at column 3"),
    ("title: a", r"title: at column 1 needs a word"),
])
def test_malformed_input_is_a_one_line_error(text, message):
    with pytest.raises(SearchSyntaxError, match=message) as error:
        parse(text)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, ValueError)
