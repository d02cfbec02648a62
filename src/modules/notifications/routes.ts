import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, pageOf } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import {
  notificationList,
  notificationQuery,
  previewBody,
  renderedEnvelope,
  templateBody,
  templateEnvelope,
  templateListEnvelope,
  templateParams,
  toNotificationDto,
  toRenderedDto,
  toTemplateDto,
} from './http-schemas.js';
import { listNotifications } from './log.js';
import {
  getTemplate,
  listTemplates,
  overrideTemplate,
  previewTemplate,
  resetTemplate,
} from './template-store.js';

const tags = ['notifications'];
const unknownTemplate = errorEnvelope.describe('No e-mail template has this name.');
const badPlaceholder = errorEnvelope.describe(
  'VALIDATION_ERROR: a part uses a placeholder the template does not get (one detail per part), or a part is empty or too long.',
);

/** The notifications log and the e-mail templates (admin); register under `/api/v1`. */
export const notificationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/admin/notifications',
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'listNotifications',
        tags,
        summary: 'Notifications log (admin)',
        description:
          'Every e-mail Bazaar decided to send, newest first, with its delivery state, attempts and last error. Filter by template, status and recipient.',
        querystring: notificationQuery,
        response: { 200: notificationList },
      },
    },
    async (request) => {
      const q = request.query;
      const { rows, total } = await listNotifications(contextOf(request), {
        template: q.template,
        status: q.status,
        recipient: q.recipient,
        page: q.page,
        perPage: q.per_page,
      });
      return {
        request_id: request.id,
        data: rows.map(toNotificationDto),
        ...pageOf(request.url, q.page, q.per_page, total),
      };
    },
  );

  app.get(
    '/admin/email-templates',
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'listEmailTemplates',
        tags,
        summary: 'List e-mail templates (admin)',
        description:
          'Every e-mail template: what is sent now (the operator’s override or the built-in), whether it is overridden, its variables with sample values, and the built-in version.',
        response: { 200: templateListEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: (await listTemplates(contextOf(request))).map(toTemplateDto),
    }),
  );

  app.get(
    '/admin/email-templates/:name',
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'getEmailTemplate',
        tags,
        summary: 'Get an e-mail template (admin)',
        description: 'One template: what is sent now, its variables, and the built-in version.',
        params: templateParams,
        response: { 200: templateEnvelope, 404: unknownTemplate },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toTemplateDto(await getTemplate(contextOf(request), request.params.name)),
    }),
  );

  app.put(
    '/admin/email-templates/:name',
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'overrideEmailTemplate',
        tags,
        summary: 'Override an e-mail template (admin)',
        description:
          'Replaces subject, text and HTML of a template from the next mail on. Placeholders must be among the template’s variables. Audited.',
        params: templateParams,
        body: templateBody,
        response: { 200: templateEnvelope, 400: badPlaceholder, 404: unknownTemplate },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toTemplateDto(await overrideTemplate(contextOf(request), request.params.name, request.body)),
    }),
  );

  app.delete(
    '/admin/email-templates/:name',
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'resetEmailTemplate',
        tags,
        summary: 'Restore a built-in e-mail template (admin)',
        description:
          'Removes the operator’s override: the built-in template is sent again from the next mail on. Answers the template as it now is; audited when there was an override.',
        params: templateParams,
        response: { 200: templateEnvelope, 404: unknownTemplate },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toTemplateDto(await resetTemplate(contextOf(request), request.params.name)),
    }),
  );

  app.post(
    '/admin/email-templates/:name/preview',
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'previewEmailTemplate',
        tags,
        summary: 'Preview an e-mail template (admin)',
        description:
          'Renders the template with its sample variables, as the mail would look. Parts given in the body (unsaved edits) replace the current ones; nothing is stored.',
        params: templateParams,
        body: previewBody,
        response: { 200: renderedEnvelope, 400: badPlaceholder, 404: unknownTemplate },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toRenderedDto(await previewTemplate(contextOf(request), request.params.name, request.body)),
    }),
  );
};
