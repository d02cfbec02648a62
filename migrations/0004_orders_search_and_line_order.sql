ALTER TABLE "order_items" ADD COLUMN "position" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_email_idx" ON "orders" USING btree ("email" text_pattern_ops);