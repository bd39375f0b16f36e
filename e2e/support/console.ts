import type { Page } from '@playwright/test';

// Typing on a guest's console in the browser (noVNC), shared by the console and migration tests.

/** Characters that need Shift on a US keyboard, and the key that makes them. */
const SHIFTED: Record<string, string> = {
  '~': 'Backquote',
  '!': 'Digit1',
  '@': 'Digit2',
  '#': 'Digit3',
  $: 'Digit4',
  '%': 'Digit5',
  '^': 'Digit6',
  '&': 'Digit7',
  '*': 'Digit8',
  '(': 'Digit9',
  ')': 'Digit0',
  _: 'Minus',
  '+': 'Equal',
  '{': 'BracketLeft',
  '}': 'BracketRight',
  '|': 'Backslash',
  ':': 'Semicolon',
  '"': 'Quote',
  '<': 'Comma',
  '>': 'Period',
  '?': 'Slash',
};

/**
 * Types into the focused console like a person: noVNC sends QEMU the keys' scancodes, so a '$'
 * must be Shift+4 as on a real keyboard (page.keyboard.type alone would send a bare '4').
 */
export async function typeOnConsole(page: Page, text: string) {
  for (const ch of text) {
    if (SHIFTED[ch]) await page.keyboard.press(`Shift+${SHIFTED[ch]}`);
    else if (/[A-Z]/.test(ch)) await page.keyboard.press(`Shift+Key${ch}`);
    else await page.keyboard.press(ch === ' ' ? 'Space' : ch);
  }
  await page.keyboard.press('Enter');
}
