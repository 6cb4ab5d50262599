import notifier


def test_package_imports() -> None:
    assert notifier.__doc__
