/**
 * CSV cells for files people open in spreadsheets. Text that starts like a formula (`=`, `+`,
 * `-`, `@`, or a tab or carriage return that some programs skip before one) is run by Excel,
 * LibreOffice and Google Sheets when the file is opened: a provider naming a host
 * `=HYPERLINK("…")` would put a live link or formula in a buyer's statement. OWASP's rule
 * ("CSV Injection"): prefix such a cell with a single quote, so it shows as the text it is.
 * Exact amounts are the one kind of cell written as they are: a signed decimal such as "-0.05"
 * is a number to the spreadsheet, never a formula, and must stay summable.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A plain signed decimal: what libs/domain's money() writes. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** RFC 4180: quote a field holding a comma, quote or line break; double its quotes. */
const quoted = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** A text cell: neutralised when it would start a formula, then quoted as needed. */
export function csvText(value: string): string {
  return quoted(FORMULA_START.test(value) ? `'${value}` : value);
}

/** An exact amount cell: written as is when it is a plain decimal; anything else is text. */
export function csvAmount(value: string): string {
  return DECIMAL.test(value) ? value : csvText(value);
}
