/**
 * Where real payment plugs in. A top-up ("add value") asks the bound PaymentGateway to collect the
 * amount before the ledger credits it; only a 'paid' outcome is credited. The default,
 * CreditAtOnceGateway, collects nothing and says paid: fine for a demo or a closed deployment
 * that settles outside the app, not for taking money from strangers. An operator binds their own
 * implementation (a card processor, an invoice system) to PAYMENT_GATEWAY in BillingModule.
 */
export interface PaymentRequest {
  /** The buyer being credited. */
  userId: string;
  /** Exact money text, above 0 and within the top-up limits. */
  amount: string;
  /** Unique per top-up (the ledger key's last part): pass it on as the payment's idempotency key. */
  reference: string;
}

export type PaymentOutcome = { status: 'paid'; reference: string } | { status: 'declined'; reason: string };

export interface PaymentGateway {
  collect(request: PaymentRequest): Promise<PaymentOutcome>;
}

/** The Nest DI token the gateway is bound to. */
export const PAYMENT_GATEWAY = Symbol('PaymentGateway');

/** The default: credits at once, collecting nothing. */
export class CreditAtOnceGateway implements PaymentGateway {
  async collect(request: PaymentRequest): Promise<PaymentOutcome> {
    return { status: 'paid', reference: request.reference };
  }
}
