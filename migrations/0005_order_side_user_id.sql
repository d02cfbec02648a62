-- Every order-side table carries its customer (the Citus distribution key, see docs/operations.md).
-- Expand in place: add the column nullable, copy it from the parent row, then require it.
ALTER TABLE "order_items" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "order_status_history" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "payment_events" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "user_id" uuid;--> statement-breakpoint
UPDATE "order_items" AS c SET "user_id" = o."user_id" FROM "orders" AS o WHERE o."id" = c."order_id";--> statement-breakpoint
UPDATE "order_status_history" AS c SET "user_id" = o."user_id" FROM "orders" AS o WHERE o."id" = c."order_id";--> statement-breakpoint
UPDATE "invoices" AS c SET "user_id" = o."user_id" FROM "orders" AS o WHERE o."id" = c."order_id";--> statement-breakpoint
UPDATE "payment_events" AS c SET "user_id" = p."user_id" FROM "payments" AS p WHERE p."id" = c."payment_id";--> statement-breakpoint
UPDATE "refunds" AS c SET "user_id" = p."user_id" FROM "payments" AS p WHERE p."id" = c."payment_id";--> statement-breakpoint
-- Webhook events that matched no payment belong to no customer: they were ignored, and a
-- redelivery is ignored again, so their dedupe rows are not kept.
DELETE FROM "payment_events" WHERE "user_id" IS NULL;--> statement-breakpoint
ALTER TABLE "order_items" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "order_status_history" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "payment_events" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "refunds" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "order_status_history_user_idx" ON "order_status_history" USING btree ("user_id");
