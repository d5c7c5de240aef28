from django.urls import register_converter


class ProjectKeyConverter:
    """Project keys as they can exist (2-10 uppercase letters/digits): anything else,
    NUL bytes included, is a plain 404 before it reaches the database."""

    regex = "[A-Z][A-Z0-9]{1,9}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProjectKeyConverter, "project_key")
