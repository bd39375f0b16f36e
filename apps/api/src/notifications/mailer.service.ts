import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { APP_CONFIG, AppConfig } from '../config';

export interface Mail {
  /** Names the file in the outbox. */
  id: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * Sends email through nodemailer: SMTP when VIRTUOSO_SMTP_URL is set, else each message is
 * rendered by nodemailer's stream transport and written as an RFC 822 .eml file in the outbox
 * directory (default <data>/outbox), which an operator can read or hand to any mail program.
 */
@Injectable()
export class MailerService {
  private readonly logger = new Logger('Mailer');
  private readonly transport: Transporter;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {
    this.transport = config.smtpUrl
      ? nodemailer.createTransport(config.smtpUrl)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  /** Where outbox files go, or null when mail goes out over SMTP. */
  get outbox(): string | null {
    return this.config.smtpUrl ? null : this.config.outboxDir;
  }

  async send(mail: Mail): Promise<void> {
    const info = await this.transport.sendMail({ from: this.config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text });
    const outbox = this.outbox;
    if (outbox) {
      await mkdir(outbox, { recursive: true });
      const file = join(outbox, `${new Date(this.wallClock.now()).toISOString().replace(/[:.]/g, '-')}-${mail.id}.eml`);
      await writeFile(file, (info as { message: Buffer }).message);
      this.logger.debug(`wrote ${file}`);
    }
  }
}
