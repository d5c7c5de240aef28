"""Reads of custom field values for other apps (reports, exports)."""

from django.db.models import CharField, Expression


class TaskFieldsText(Expression):
    """A task's custom field values as one text, "Name: value; Name: value" (fields in
    their order, options by name, people by name), for report and export rows: one
    correlated subquery, whatever the number of fields. Only the fields of the task's
    own project."""

    output_field = CharField()
    _SQL = """(SELECT string_agg(f.name || ': ' || COALESCE(v.value_text, v.value_number::text,
        to_char(v.value_date, 'YYYY-MM-DD'), CASE WHEN v.value_bool THEN '✓' END, o.name,
        NULLIF(m.display_name, ''), m.email, ''), '; ' ORDER BY f.position, f.id, o.position, o.id)
        FROM fields_customfieldvalue v JOIN fields_customfield f ON f.id = v.field_id
        LEFT JOIN fields_customfieldoption o ON o.id = v.value_option_id
        LEFT JOIN members_member m ON m.id = v.value_member_id
        WHERE v.task_id = {task}.id AND f.project_id = {task}.project_id)"""

    def as_sql(self, compiler, connection):
        task = compiler.quote_name_unless_alias(compiler.query.base_table)
        return self._SQL.replace("{task}", task), []
