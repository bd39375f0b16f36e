// The API's validation messages name fields as the code does ("speedUnit must be at least 1");
// pages name them as the form does ("Speed unit must be at least 1"), one message per field.

const LEADING_FIELD = /^([a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*)(?= (?:must|should|is|are|may|cannot|has|was) )/;

/** "speedUnitPrice" → "Speed unit price"; "agent.port" → "Agent port". */
export function fieldWords(name: string): string {
  const words = name
    .replace(/\./g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A message with its leading field name replaced by the field's label (or the name in words):
 * "speedUnit must be at least 1" → "Speed unit must be at least 1". Other messages are kept.
 */
export function withFieldLabel(message: string, label?: string): string {
  const match = LEADING_FIELD.exec(message);
  if (!match) return message;
  return `${label ?? fieldWords(match[1])}${message.slice(match[1].length)}`;
}

/**
 * The one message to show under a field: the first the server gave (the others restate it or
 * contradict it: "must be a whole number", "must be at least 1"), with the field's label.
 */
export function fieldMessage(messages: readonly string[] | undefined, label: string): string | null {
  const first = messages?.find((message) => message.trim() !== '');
  return first ? withFieldLabel(first, label) : null;
}
