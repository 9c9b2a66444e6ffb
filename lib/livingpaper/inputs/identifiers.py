"""Direct patient identifiers: recognised in column names and in values, never echoed.

A book is a publication. A cohort export that carries names, dates of birth, addresses,
phone numbers, e-mail addresses or record, insurance and national numbers must not reach
it, nor any message on the way there. Real exports name such columns in many ways and
languages ("Patient Full Name", "phone no.", "Geburtsdatum", "氏名"), so a column name is
normalised (Unicode NFKC, case folded, accents removed, camelCase and punctuation split
into words) and read word by word (:func:`column_kind`); values are recognised by their
shape (:func:`value_kind`). Both err on the side of refusing: a harmless column taken for
an identifier costs the user one option (``--allow-identifiers``, which drops it), an
identifier taken for a harmless column would be published.

The rules, per kind of identifier, for the words of a column name:

- *self-sufficient words* identify the column whatever surrounds them ("surname",
  "geburtsdatum", "mrn");
- *weak words* identify it only when every other word of the name is a filler ("name" in
  "Patient Full Name", but not in "site_name_code" or "drug name"; "mail" alone, but not in
  "mail_order_pharmacy_used");
- record numbers are *a qualifier with a number word* ("Hospital ID", "Chart No",
  "National ID", "Insurance Number"), and nothing else besides fillers;
- in Chinese, Japanese and Korean, where words are not separated, a column is recognised
  by the terms it contains (氏名, 生年月日, 住所, 電話, カルテ, 주민등록번호, ...).
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

NAME = "a name"
BIRTH_DATE = "a date of birth"
ADDRESS = "an address"
PHONE = "a phone number"
EMAIL = "an e-mail address"
RECORD_NUMBER = "a record, insurance or national identity number"
DATE = "a date (of birth?)"
PHONE_OR_NUMBER = "a phone, record or national identity number"

#: Words that qualify nothing by themselves: they may surround a weak word.
FILLERS = frozenset("""
patient patients pt pat client person subject the of de du des del della la le el da di do dos das van von der
den het no nr nro num number numero nummer nummern id ids code line 1 2 3 home primary secondary contact private
work personal main current full complete value text field info information data e
""".split())

# Per kind: self-sufficient words, weak words, and words that are fillers for that kind only.
_WORDS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    EMAIL: (frozenset("""email emails emailaddress emailadresse courriel correoelectronico""".split()),
            frozenset("""mail mails""".split()), frozenset("""address adresse""".split())),
    NAME: (frozenset("""surname surnames forename forenames firstname lastname fullname givenname givennames
        familyname middlename maidenname birthname patientname patientsname nachname vorname vornamen
        familienname geburtsname prenom prenoms apellido apellidos cognome sobrenome achternaam voornaam
        efternamn fornamn etternavn fornavn nazwisko imie""".split()),
           frozenset("""name names nom noms nombre nombres nome nomi naam namen initials initial first last given
        family middle maiden sur""".split()), frozenset()),
    BIRTH_DATE: (frozenset("""dob birthdate dateofbirth birthday geburtsdatum gebdatum gebdat geburtstag geboren
        datedenaissance naissance fechadenacimiento nacimiento fnac datadinascita nascita datadenascimento
        nascimento geboortedatum fodelsedatum fodselsdato""".split()),
                 frozenset("""birth born""".split()), frozenset("""date""".split())),
    ADDRESS: (frozenset("""address addresses addr street streetaddress postcode postalcode zipcode adresse anschrift
        strasse postleitzahl wohnort wohnadresse direccion domicilio indirizzo endereco morada adres woonplaats
        codepostal codigopostal""".split()),
              frozenset("""zip city town plz cep cap ville ciudad citta stadt ort postal residence rue calle via rua
        straat house""".split()), frozenset()),
    PHONE: (frozenset("""phone phones telephone telefon telefonnummer telefono telefone telefoon celular cellulare
        cellphone mobilephone mobilenumber handynummer telemovel phonenumber tel""".split()),
            frozenset("""mobile mobil mobiel movil cell fax handy portable landline contact""".split()), frozenset()),
    RECORD_NUMBER: (frozenset("""mrn ssn nhs nhsnumber chinumber nino nir passport passportnumber aadhaar dni nie nif
        curp rut cpf bsn codicefiscale personnummer fodselsnummer pesel steuerid versichertennummer
        krankenversicherungsnummer sozialversicherungsnummer versicherungsnummer medicare medicaid mynumber hkid
        nric mrnumber medicalrecord medicalrecordnumber hospitalnumber chartnumber kartennummer""".split()),
                    frozenset(), frozenset()),
}
#: Record numbers: one of these with a number word (and fillers) makes a column.
_NUMBER_QUALIFIERS = frozenset("""hospital chart record medical national insurance social security health card
citizen citizenship tax member case registration identity identification ident personal kranken versicherung
versicherten kartei akte dossier expediente cartella prontuario clinic admission""".split())
_NUMBER_WORDS = frozenset("""id no nr nro num number numero nummer code""".split())
#: "record id" is the pseudonymous key of REDCap exports, not a medical record number.
_NOT_WITH = {"record": frozenset({"id"})}

#: Terms recognised inside names written without spaces (Chinese, Japanese, Korean).
_CJK_TERMS: dict[str, tuple[str, ...]] = {
    NAME: ("氏名", "名前", "姓名", "患者名", "フリガナ", "ふりがな", "カナ", "名字", "이름", "성명"),
    BIRTH_DATE: ("生年月日", "誕生日", "出生日期", "出生年月", "生日", "생년월일"),
    ADDRESS: ("住所", "地址", "郵便番号", "邮编", "邮政编码", "居住地", "주소"),
    PHONE: ("電話", "电话", "携帯", "手机", "連絡先", "联系方式", "전화", "휴대폰"),
    EMAIL: ("メール", "邮箱", "电子邮件", "이메일"),
    RECORD_NUMBER: ("カルテ", "診察券", "患者番号", "病歴番号", "病案号", "住院号", "保険証", "被保険者番号", "身份证",
                    "マイナンバー", "個人番号", "社会保障", "医保", "주민등록번호"),
}


def _plain(text: str) -> str:
    """NFKC, accents removed, case folded ("Prénom" -> "prenom", "Straße" -> "strasse")."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", str(text)))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(column: str) -> list[str]:
    """The words of a column name: camelCase and any non-alphanumeric character split them."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", unicodedata.normalize("NFKC", str(column)))
    return [w for w in re.split(r"[\W_]+", _plain(spaced)) if w]


def column_kind(column: str) -> str | None:
    """What kind of direct identifier a column's name says it holds, or None."""
    composed = unicodedata.normalize("NFKC", str(column)).casefold()  # Hangul stays composed
    for kind, terms in _CJK_TERMS.items():
        if any(term in composed for term in terms):
            return kind
    tokens = words(column)
    if not tokens:
        return None
    joined = "".join(tokens)
    token_set = set(tokens)
    for kind, (strong, weak, fillers) in _WORDS.items():
        if joined in strong or token_set & strong:
            return kind
        if token_set & weak and token_set <= weak | fillers | FILLERS:
            return kind
    qualifiers = token_set & _NUMBER_QUALIFIERS
    numbers = token_set & _NUMBER_WORDS
    if qualifiers and numbers and token_set <= _NUMBER_QUALIFIERS | _NUMBER_WORDS | FILLERS:
        if not all(numbers <= _NOT_WITH.get(q, frozenset()) for q in qualifiers):
            return RECORD_NUMBER
    return None


# ---- values --------------------------------------------------------------------------------

_EMAIL_VALUE = re.compile(r"[^@\s]+@[^@\s]+\.[^\W\d_]{2,}")
_DATE_YMD = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_DATE_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})(?!\d)")
_ERA_DATE = re.compile(r"\d{1,2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_PHONE_SHAPE = re.compile(r"(?:tel:)?\+?[\d\s().\-/]+", re.I)
_LONG_NUMBER = re.compile(r"\d{7,}")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_UK_NINO = re.compile(r"[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]", re.I)
_RECORD_PREFIX = re.compile(r"(?:mrn|nhs|ssn|emr|ehr|umrn|chi|hn|hosp|chart|kartei|med\.?\s*rec(?:ord)?|record)"
                            r"\s*(?:no\.?|nr\.?|number|num|#)?\s*[#:._\-/\s]*\d{3,}", re.I)
_LETTERS_ONLY = re.compile(r"[^\W\d_]+(?:[\s'’.,\-]+[^\W\d_]+)*\.?")
_CAPITALISED_WORDS = re.compile(r"[^\W\d_]+(?:,?\s+[^\W\d_]+){1,3}")
#: Words of the cohort's own columns: a label made of them is not a person's name.
_DOMAIN_WORDS = frozenset("""umbilical cord bone marrow adipose tissue msc mscs stem stromal mesenchymal cell cells
derived wharton jelly placenta placental fat female male woman man women men unknown missing not applicable none
pending na other""".split())


def _plausible_date(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31


def _has_date(text: str) -> bool:
    for m in _DATE_YMD.finditer(text):
        if _plausible_date(int(m.group(3)), int(m.group(2))):
            return True
    for m in _DATE_DMY.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if _plausible_date(a, b) or _plausible_date(b, a):  # day-month or month-day
            return True
    return bool(_ERA_DATE.search(text))


def _looks_like_a_name(text: str, strict: bool) -> bool:
    letters = sum(c.isalpha() for c in text)
    if letters < 2:
        return False
    if strict:
        # An id made of letters only, however written ("Yamada Taro", "Smith, J.", "山田太郎"):
        # pseudonymous codes carry digits.
        return bool(_LETTERS_ONLY.fullmatch(text))
    # Any other value: two to four words, each starting with a capital letter, none of them
    # a word of the cohort's own labels ("Umbilical Cord" is a source, not a person).
    if _is_cjk(text):  # "山田太郎", "김민준": a short run of CJK or Hangul letters
        return bool(_LETTERS_ONLY.fullmatch(text)) and len(text.replace(" ", "")) <= 6
    if not _CAPITALISED_WORDS.fullmatch(text):
        return False
    tokens = re.split(r"[,\s]+", text.strip())
    if any(_plain(t) in _DOMAIN_WORDS for t in tokens):
        return False
    return all(t[:1].isupper() for t in tokens)


def _is_cjk(text: str) -> bool:
    return any("CJK" in unicodedata.name(c, "") or "HANGUL" in unicodedata.name(c, "") for c in text)


def value_kind(value: object, strict: bool = False) -> str | None:
    """What kind of direct identifier a value looks like, or None.

    ``strict`` is for patient ids, which should be pseudonymous codes: an id of letters only
    is taken for a name. Other values (echoed in a message about a wrong cell) count as a
    name only when they read like one ("John Smith", "SMITH, John").
    """
    text = str(value).strip()
    if not text or not strict and _PLAIN_NUMBER.fullmatch(text):  # a measurement, however long
        return None
    if _EMAIL_VALUE.search(text):
        return EMAIL
    if _has_date(text):
        return DATE
    if _RECORD_PREFIX.search(text) or _UK_NINO.fullmatch(text):
        return RECORD_NUMBER
    digits = sum(c.isdigit() for c in text)
    if _LONG_NUMBER.fullmatch(text) or (_PHONE_SHAPE.fullmatch(text) and digits >= 9) \
            or (text.startswith("+") and digits >= 8):
        return PHONE_OR_NUMBER
    if _looks_like_a_name(text, strict):
        return NAME
    return None


#: Ids worth a closer look (the rest cannot match :func:`value_kind`), as a pattern that
#: pandas' vectorised engines (Python's and Arrow's RE2) both read.
_CANDIDATE = (r"^[^0-9]*$|@|^[0-9]{7,}$|^\+|[0-9][-/. 年月][0-9]|^[A-Za-z]{2} ?[0-9]{2}"
              r"|(?i:mrn|nhs|ssn|emr|ehr|chi|hn|hosp|chart|kartei|rec)")


def id_kinds(ids: pd.Series) -> pd.Series:
    """For each patient id, the kind of identifier it looks like (None for a pseudonymous
    code); vectorised pre-selection, so that a million clean ids cost one pass."""
    candidates = ids[ids.str.contains(_CANDIDATE, regex=True).fillna(False).astype(bool)]
    kinds = pd.Series([None] * len(ids), index=ids.index, dtype=object)
    for index, value in candidates.items():
        kinds[index] = value_kind(value, strict=True)
    return kinds
