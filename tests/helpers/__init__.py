"""What tests share: loopback servers, fake sites, the CLI runner, paths, fixtures' building blocks.

A test module imports from here (and gets fixtures from conftest.py), never from another test module.
"""
