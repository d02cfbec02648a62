import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import type { Inventory } from '../inventory/index.js';
import { CSV_COLUMNS, importProducts } from './import.js';
import { importEnvelope, importJsonBody } from './http-schemas.js';

/** Imports are bigger than ordinary requests: up to 10 MiB, in this route's scope only. */
export const IMPORT_BODY_LIMIT = 10 * 1024 * 1024;

export function importRoutes(inventory: Inventory): FastifyPluginAsyncZod {
  return async (app) => {
    app.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    app.post(
      '/admin/products/import',
      {
        config: { permission: 'products:write' },
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          operationId: 'importProducts',
          tags: ['catalog'],
          summary: 'Import products (admin)',
          description: `Creates many products at once from JSON (\`{ "products": [ …CreateProduct… ] }\`) or CSV (\`Content-Type: text/csv\`, header row, one row per variant, rows grouped into products by handle; columns ${CSV_COLUMNS.join(', ')}; \`category_handles\` separated by \`|\`; an empty \`status\` means draft). Every row is validated first: if any is bad nothing is imported and the 400 answer's \`details\` is a report \`{ imported: 0, error_count, errors: [{ row, field, message }] }\` (row = CSV record with the header as row 1, or the position in \`products\` from 1). Otherwise everything is imported in one transaction. At most 10 MiB.`,
          consumes: ['application/json', 'text/csv'],
          body: z.union([
            importJsonBody,
            z.string().max(IMPORT_BODY_LIMIT).meta({ description: 'The CSV file (text/csv).' }),
          ]),
          response: {
            201: importEnvelope,
            400: errorEnvelope.describe('Invalid rows; `details` reports each one. Nothing was imported.'),
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const result = await importProducts(
          contextOf(request),
          inventory,
          typeof body === 'string'
            ? { format: 'csv', text: body }
            : { format: 'json', products: body.products },
        );
        return reply.code(201).send({
          request_id: request.id,
          data: { imported_products: result.importedProducts, imported_variants: result.importedVariants },
        });
      },
    );
  };
}
