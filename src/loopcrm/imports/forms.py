"""Forms of the import pages: the upload and the mapping screen (one select per column)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.imports import kinds
from loopcrm.imports.mapping import CUSTOMER_TARGETS, PRESET_LABELS
from loopcrm.imports.models import ImportKind, ImportMapping, OnDuplicate

ENCODINGS = [("", _("Detect automatically")), ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (BOM)"),
             ("gb18030", "GBK / GB18030"), ("utf-16", "UTF-16"), ("big5", "Big5"), ("latin-1", "Latin-1")]
UNMAPPED = [("ignore", _("Ignore them")), ("notes", _("Add them to the notes")), ("tags", _("Make them tags"))]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportKind.choices, initial=ImportKind.CUSTOMERS,
                             required=False)
    file = forms.FileField(label=_("File (CSV, TSV or XLSX)"))
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    sheet = forms.CharField(label=_("Sheet (XLSX)"), max_length=100, required=False,
                            help_text=_("Leave empty for the first sheet."))
    saved_mapping = forms.ModelChoiceField(label=_("Saved mapping"), queryset=ImportMapping.objects.none(),
                                           required=False, empty_label=_("Match the columns automatically"))
    preset = forms.ChoiceField(label=_("Exported from (customers)"), required=False,
                               choices=[("", _("Detect automatically")), *PRESET_LABELS.items()])
    on_duplicate = forms.ChoiceField(label=_("When a row matches an existing record"),
                                     choices=OnDuplicate.choices, initial=OnDuplicate.SKIP,
                                     help_text=_("Products can be skipped or updated; orders, interactions and "
                                                 "contact persons that exist are skipped."))
    unmapped = forms.ChoiceField(label=_("Columns that are not mapped"), choices=UNMAPPED, initial="ignore")

    def __init__(self, *args, mappings=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if mappings is not None:
            self.fields["saved_mapping"].queryset = mappings


def target_choices(kind: str = ImportKind.CUSTOMERS) -> list[tuple[str, str]]:
    targets = CUSTOMER_TARGETS if kind == ImportKind.CUSTOMERS else kinds.KINDS[kind].targets
    return [("", _("— ignore —")), *((key, label) for key, label in targets.items())]


class MappingForm(forms.Form):
    """One choice per column of the file, plus where the others go and how duplicates are handled."""

    unmapped = forms.ChoiceField(label=_("Columns that are not mapped"), choices=UNMAPPED)
    on_duplicate = forms.ChoiceField(label=_("When a row matches an existing record"), choices=OnDuplicate.choices)
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS[1:], required=False)
    save_as = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False)

    def __init__(self, *args, headers: list[str], kind: str = ImportKind.CUSTOMERS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = target_choices(kind)
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(label=header, choices=choices, required=False)

    def columns(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}") or "" for i in range(len(self.headers))]
