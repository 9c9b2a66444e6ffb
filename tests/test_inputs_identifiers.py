"""Tests for livingpaper.inputs.identifiers: direct identifiers recognised in column names and ids."""
from __future__ import annotations

import pandas as pd
import pytest
from livingpaper.inputs import identifiers as ids
from livingpaper.inputs.identifiers import (
    ADDRESS,
    BIRTH_DATE,
    DATE,
    EMAIL,
    NAME,
    PHONE,
    PHONE_OR_NUMBER,
    RECORD_NUMBER,
)

# As real exports name them, in several languages (the first eleven are the issue's own).
IDENTIFIER_COLUMNS = [
    ("Patient Full Name", NAME), ("phone no.", PHONE), ("Mobile Number", PHONE), ("National ID", RECORD_NUMBER),
    ("Address Line 1", ADDRESS), ("Chart No", RECORD_NUMBER), ("Hospital ID", RECORD_NUMBER),
    ("Geburtsdatum", BIRTH_DATE), ("Nachname", NAME), ("氏名", NAME), ("生年月日", BIRTH_DATE),
    ("FirstName", NAME), ("last_name", NAME), ("Name", NAME), ("initials", NAME), ("Vorname", NAME),
    ("Prénom", NAME), ("Nom", NAME), ("Apellidos", NAME), ("Cognome", NAME), ("患者名", NAME), ("이름", NAME),
    ("DOB", BIRTH_DATE), ("D.O.B.", BIRTH_DATE), ("Date of Birth", BIRTH_DATE), ("birthDate", BIRTH_DATE),
    ("Date de naissance", BIRTH_DATE), ("Fecha de nacimiento", BIRTH_DATE), ("誕生日", BIRTH_DATE),
    ("Street", ADDRESS), ("Zip Code", ADDRESS), ("Postal code", ADDRESS), ("City", ADDRESS), ("Adresse", ADDRESS),
    ("Straße", ADDRESS), ("Dirección", ADDRESS), ("住所", ADDRESS),
    ("Telephone", PHONE), ("Tel", PHONE), ("cell phone", PHONE), ("Telefonnummer", PHONE), ("Teléfono", PHONE),
    ("電話番号", PHONE), ("Fax", PHONE),
    ("E-Mail", EMAIL), ("email_address", EMAIL), ("Mail", EMAIL), ("Courriel", EMAIL), ("メールアドレス", EMAIL),
    ("MRN", RECORD_NUMBER), ("Medical Record Number", RECORD_NUMBER), ("NHS Number", RECORD_NUMBER),
    ("SSN", RECORD_NUMBER), ("Social Security Number", RECORD_NUMBER), ("Insurance No", RECORD_NUMBER),
    ("Passport", RECORD_NUMBER), ("Health card number", RECORD_NUMBER), ("Versichertennummer", RECORD_NUMBER),
    ("カルテ番号", RECORD_NUMBER), ("주민등록번호", RECORD_NUMBER),
]
# Columns a clinic's export may well have, none of which identifies a person.
HARMLESS_COLUMNS = [
    "site_name_code", "cell_count", "notes", "mail_order_pharmacy_used", "hba1c_3m", "visit_date", "infusion_date",
    "birth_year", "birth weight", "drug name", "Hospital", "code", "age", "weight_kg", "egfr", "insulin_use", "centre",
    "study_id", "subject_id", "site_id", "record_id", "batch_no", "lot_number", "dose_number", "number_of_visits",
    "comments", "bmi", "Sex", "ethnicity", "smoker", "medication", "Date", "msc_batch", "last_visit",
]


@pytest.mark.parametrize("column, kind", IDENTIFIER_COLUMNS)
def test_identifier_columns_are_recognised_however_and_in_whatever_language_they_are_named(column, kind):
    assert ids.column_kind(column) == kind


@pytest.mark.parametrize("column", HARMLESS_COLUMNS)
def test_clinical_and_study_columns_are_not_taken_for_identifiers(column):
    assert ids.column_kind(column) is None


def test_words_split_camel_case_punctuation_and_accents():
    assert ids.words("PatientFullName") == ["patient", "full", "name"]
    assert ids.words("Date_de-Naissance (JJ/MM)") == ["date", "de", "naissance", "jj", "mm"]
    assert ids.words("Prénom") == ["prenom"]


IDENTIFYING_IDS = [
    ("Taro Yamada", NAME), ("YAMADA, Taro", NAME), ("Müller", NAME), ("山田太郎", NAME), ("J. Smith", NAME),
    ("1956-03-14", DATE), ("14/03/1956", DATE), ("03.14.56", DATE), ("1956年3月14日", DATE), ("P-1956-03-14", DATE),
    ("+44 7700 900123", PHONE_OR_NUMBER), ("(555) 123-4567", PHONE_OR_NUMBER), ("090-1234-5678", PHONE_OR_NUMBER),
    ("123-45-6789", PHONE_OR_NUMBER), ("943 476 5919", PHONE_OR_NUMBER), ("9434765919", PHONE_OR_NUMBER),
    ("19560314", PHONE_OR_NUMBER), ("QQ 12 34 56 C", RECORD_NUMBER), ("MRN-001234", RECORD_NUMBER),
    ("MRN12345", RECORD_NUMBER), ("NHS 943 476 5919", RECORD_NUMBER), ("HN 123456", RECORD_NUMBER),
    ("taro.yamada@example.jp", EMAIL),
]
PSEUDONYMOUS_IDS = ["P01", "A01", "MSC-001", "S0000001", "PT-12", "001", "12345", "MSC-2021-001", "pt 7",
                    "<b>X</b>*y*", "x", "K9", "id_0042"]


@pytest.mark.parametrize("value, kind", IDENTIFYING_IDS)
def test_patient_ids_that_identify_a_person_are_recognised(value, kind):
    assert ids.value_kind(value, strict=True) == kind


@pytest.mark.parametrize("value", PSEUDONYMOUS_IDS)
def test_pseudonymous_study_codes_are_accepted(value):
    assert ids.value_kind(value, strict=True) is None


def test_the_vectorised_screen_of_a_column_agrees_with_the_screen_of_each_value():
    values = [v for v, _ in IDENTIFYING_IDS] + PSEUDONYMOUS_IDS
    series = pd.Series(values, dtype="string[pyarrow]", index=range(10, 10 + len(values)))
    assert ids.id_kinds(series).tolist() == [ids.value_kind(v, strict=True) for v in values]


@pytest.mark.parametrize("value", ["Umbilical Cord", "umbilical cord MSC", "Bone Marrow", "n/a", "missing",
                                   "72.16703104503717", "1e9", "1000000000", "-3", "7,5"])
def test_values_of_other_columns_are_echoed_unless_they_read_like_an_identifier(value):
    assert ids.value_kind(value) is None


@pytest.mark.parametrize("value", ["John Smith", "SMITH, John", "山田太郎", "1956-03-14", "+44 7700 900123",
                                   "a@b.org", "MRN 123456"])
def test_an_identifier_in_a_wrong_column_is_recognised(value):
    assert ids.value_kind(value) is not None
