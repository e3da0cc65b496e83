#ifndef QUORUM_PII_H
#define QUORUM_PII_H
#include <stddef.h>

/* Personal data in a prompt, for route's contains_pii: e-mail addresses,
 * phone numbers, payment card numbers (Luhn-checked) and IBANs (mod-97
 * checked). Pure and linear in the text. Nothing here stores, copies or
 * returns the text it matched: callers can only learn which kinds were
 * seen, so no report or log can quote the data. */

enum {
	PII_EMAIL = 1 << 0,
	PII_PHONE = 1 << 1,
	PII_CARD = 1 << 2,
	PII_IBAN = 1 << 3,
};

/* Returns the PII_* bits of every kind found in text[0..len) (0 for
 * none). What counts:
 *   email  local@domain.tld: a dot-separated domain whose last label has
 *          two or more letters
 *   phone  "+" and 7-15 digits in groups ("+44 20 7946 0958"); "00" and
 *          9-15 digits; national forms with separators: (415) 555-2671,
 *          415-555-2671, 415.555.2671, 1 415 555 2671, and trunk-0 numbers
 *          of 9-12 digits in groups (030 1234567, 06 12 34 56 78); any
 *          7-15 digit run shortly after "phone", "tel", "mobile", "cell",
 *          "call", "fax", "sms" or "whatsapp". Years, dates (2024-05-01,
 *          01.05.2024), prices, versions, IP addresses and plain order
 *          numbers are not phones.
 *   card   13-19 digits, alone or in groups of 3-8 split by spaces or
 *          dashes, starting with 2-6 (the card networks' ranges), that
 *          pass the Luhn check
 *   iban   country code, check digits and BBAN (spaces allowed between
 *          groups), of the country's registered length (15-34 for one not
 *          in our table), that pass the ISO 13616 mod-97 check */
unsigned pii_scan(const char *text, size_t len);

/* The names of the kinds in bits ("email", "phone", "card", "iban"),
 * comma-separated in that order, written to out (size n, always
 * terminated). Returns out. */
char *pii_kinds(unsigned bits, char *out, size_t n);

/* Whether the digits of s[0..len) pass the Luhn check. Spaces and dashes
 * are ignored; any other character, or fewer than two digits, fails. */
int luhn_valid(const char *s, size_t len);

/* Whether s[0..len) is a valid IBAN: two letters, two check digits, an
 * alphanumeric BBAN, the registered length of the country when we know it
 * (else 15-34), and the mod-97 remainder 1. Spaces are ignored, letters
 * may be of either case. */
int iban_valid(const char *s, size_t len);

#endif
