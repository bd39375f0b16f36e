import { describe, expect, it } from 'vitest';
import { formatExtraPorts, joinCommand, parseForwardPorts } from './network';

describe('parseForwardPorts', () => {
  it('reads ports separated by commas and spaces', () => {
    expect(parseForwardPorts('80, 443 8080')).toEqual({ ports: [80, 443, 8080] });
  });
  it('reads an empty text as no extra port', () => {
    expect(parseForwardPorts('  ')).toEqual({ ports: [] });
  });
  it('refuses 22 (always forwarded), repeats, non-ports and more than 7', () => {
    expect(parseForwardPorts('80, 22').error).toMatch(/22/);
    expect(parseForwardPorts('80, 80').error).toMatch(/80 is listed twice/);
    expect(parseForwardPorts('80, http').error).toMatch(/“http” is not a TCP port/);
    expect(parseForwardPorts('70000').error).toMatch(/not a TCP port/);
    expect(parseForwardPorts('0').error).toMatch(/not a TCP port/);
    expect(parseForwardPorts('1 2 3 4 5 6 7 8').error).toMatch(/at most 7/);
  });
});

describe('formatExtraPorts', () => {
  it('shows the ports besides ssh', () => {
    expect(formatExtraPorts([22, 80, 443])).toBe('80, 443');
    expect(formatExtraPorts([22])).toBe('');
  });
});

describe('joinCommand', () => {
  it('downloads the device’s script and runs it as root', () => {
    expect(joinCommand('https://market.example', 2)).toBe(
      "curl -fsSL -H 'Authorization: Bearer <your API token>' 'https://market.example/api/network/join.sh?device=2' | sudo bash",
    );
  });
});
