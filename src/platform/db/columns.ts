import { timestamp } from 'drizzle-orm/pg-core';

/** `timestamp with time zone`, read as a Date: every time column in Bazaar. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
