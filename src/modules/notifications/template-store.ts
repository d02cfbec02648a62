import { eq, sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, notFound, type FieldError } from '../../platform/errors.js';
import { diffOf, recordAudit } from '../audit/index.js';
import { emailTemplates } from './schema.js';
import {
  builtInTemplates,
  isTemplateName,
  renderTemplate,
  templateNames,
  unknownPlaceholders,
  type EmailTemplate,
  type TemplateName,
} from './templates.js';

type Override = typeof emailTemplates.$inferSelect;

/** A template as operators see it: what is sent now, and the built-in it may override. */
export interface TemplateView extends EmailTemplate {
  name: TemplateName;
  description: string;
  transactional: boolean;
  /** The variables it may use, with the sample values previews fill in. */
  variables: Record<string, string>;
  overridden: boolean;
  updatedAt: Date | null;
  updatedBy: string | null;
  builtIn: EmailTemplate;
}

const parts = ['subject', 'text', 'html'] as const;

function templateNamed(name: string): TemplateName {
  if (!isTemplateName(name)) throw notFound('E-mail template');
  return name;
}

function pick(template: EmailTemplate): EmailTemplate {
  return { subject: template.subject, text: template.text, html: template.html };
}

function viewOf(name: TemplateName, override: Override | undefined): TemplateView {
  const definition = builtInTemplates[name];
  return {
    name,
    description: definition.description,
    transactional: definition.transactional,
    variables: definition.variables,
    ...pick(override ?? definition),
    overridden: override !== undefined,
    updatedAt: override?.updatedAt ?? null,
    updatedBy: override?.updatedBy ?? null,
    builtIn: pick(definition),
  };
}

const overrideNamed = prepared((db) =>
  db
    .select()
    .from(emailTemplates)
    .where(eq(emailTemplates.template, sql.placeholder('name')))
    .limit(1)
    .prepare('email_template_override'),
);

async function findOverride(ctx: Context, name: TemplateName): Promise<Override | undefined> {
  const [row] = await overrideNamed(ctx.db, { name });
  return row;
}

/** The template mail is rendered from: the operator's override, else the built-in. */
export async function effectiveTemplate(ctx: Context, name: TemplateName): Promise<EmailTemplate> {
  return pick((await findOverride(ctx, name)) ?? builtInTemplates[name]);
}

export async function listTemplates(ctx: Context): Promise<TemplateView[]> {
  const overrides = new Map((await ctx.db.select().from(emailTemplates)).map((o) => [o.template, o]));
  return templateNames.map((name) => viewOf(name, overrides.get(name)));
}

export async function getTemplate(ctx: Context, name: string): Promise<TemplateView> {
  const template = templateNamed(name);
  return viewOf(template, await findOverride(ctx, template));
}

/** One error per part that uses a placeholder the template does not get (a typo would send blanks). */
function checkPlaceholders(name: TemplateName, template: Partial<EmailTemplate>): void {
  const known = Object.keys(builtInTemplates[name].variables).map((v) => `{{${v}}}`);
  const errors: FieldError[] = [];
  for (const part of parts) {
    const unknown = unknownPlaceholders(name, { [part]: template[part] });
    if (unknown.length > 0)
      errors.push({
        field: part,
        message: `unknown placeholder ${unknown.map((v) => `{{${v}}}`).join(', ')}; this template knows ${known.join(', ')}`,
      });
  }
  if (errors.length > 0) throw new AppError('VALIDATION_ERROR', 'The template is invalid.', errors);
}

/** Replaces what is sent for `name` from the next mail on; audited. */
export async function overrideTemplate(
  ctx: Context,
  name: string,
  input: EmailTemplate,
): Promise<TemplateView> {
  const template = templateNamed(name);
  checkPlaceholders(template, input);
  return inTransaction(ctx, async (tx) => {
    const before = await effectiveTemplate(tx, template);
    const values = { ...pick(input), updatedAt: new Date(), updatedBy: ctx.actor?.id ?? null };
    const [row] = await tx.db
      .insert(emailTemplates)
      .values({ template, ...values })
      .onConflictDoUpdate({ target: emailTemplates.template, set: values })
      .returning();
    await recordAudit(tx, {
      action: 'notifications.template_overridden',
      targetType: 'email_template',
      targetId: template,
      diff: diffOf({ ...before }, pick(input)),
    });
    return viewOf(template, row);
  });
}

/** Drops the override: the built-in is sent again from the next mail on; audited when there was one. */
export async function resetTemplate(ctx: Context, name: string): Promise<TemplateView> {
  const template = templateNamed(name);
  return inTransaction(ctx, async (tx) => {
    const [removed] = await tx.db
      .delete(emailTemplates)
      .where(eq(emailTemplates.template, template))
      .returning();
    if (removed) {
      await recordAudit(tx, {
        action: 'notifications.template_reset',
        targetType: 'email_template',
        targetId: template,
        diff: diffOf({ ...pick(removed) }, pick(builtInTemplates[template])),
      });
    }
    return viewOf(template, undefined);
  });
}

/**
 * Renders the template with its sample variables, as the dashboard's editor shows it: the parts
 * given replace the current ones (unsaved edits); unknown placeholders are refused as on save.
 */
export async function previewTemplate(
  ctx: Context,
  name: string,
  draft: Partial<EmailTemplate>,
): Promise<EmailTemplate> {
  const template = templateNamed(name);
  checkPlaceholders(template, draft);
  const current = await effectiveTemplate(ctx, template);
  const merged = {
    ...current,
    ...Object.fromEntries(Object.entries(draft).filter(([, v]) => v !== undefined)),
  };
  return renderTemplate(merged, builtInTemplates[template].variables);
}
