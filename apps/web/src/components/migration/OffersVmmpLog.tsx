import type { MigrationOffer } from '../../lib/api';

/** The VMMP QUERY sent to each host and its RESULTS (report §7.2.1), in the report's text form, folded away. */
export function OffersVmmpLog({ offers }: { offers: MigrationOffer[] }) {
  const lines = offers.flatMap((offer) => offer.vmmp.map((text) => `${offer.hostName}: ${text}`));
  if (lines.length === 0) return null;
  return (
    <details className="migration-log">
      <summary>VMMP exchange with the hosts ({lines.length} messages)</summary>
      <pre data-testid="offers-vmmp">{lines.join('\n')}</pre>
    </details>
  );
}
