import fastJson from 'fast-json-stringify';
import { createSerializerCompiler } from 'fastify-type-provider-zod';
import { toJSONSchema, type ZodType } from 'zod';

type SerializerCompiler = (route: {
  schema: ZodType;
  method: string;
  url: string;
  httpStatus?: string;
}) => (data: unknown) => string;

const zodSerializer = createSerializerCompiler({}) as unknown as SerializerCompiler;

/**
 * Response serialisation compiled once per route and status from the route's zod schema: the
 * schema's JSON Schema drives `fast-json-stringify`, which writes only the declared properties
 * (undeclared ones are dropped, as zod's parse drops them) and refuses an answer that lacks a
 * required one. Walking a whole answer through a zod parse first, then `JSON.stringify`, cost
 * more CPU than the rest of a cached read. A schema JSON Schema cannot express (transforms,
 * dates, custom checks) keeps zod's parse-then-stringify.
 */
export const serializerCompiler: SerializerCompiler = (route) => {
  // Compiled on first use, once per schema (the error envelopes are shared by every route), so
  // start-up does not pay for answers that are never sent.
  let stringify: ((data: unknown) => string) | undefined;
  return (data) => {
    stringify ??= compiled.get(route.schema) ?? compile(route);
    return stringify(data);
  };
};

const compiled = new WeakMap<ZodType, (data: unknown) => string>();

function compile(route: Parameters<SerializerCompiler>[0]): (data: unknown) => string {
  let jsonSchema;
  try {
    jsonSchema = toJSONSchema(route.schema, { io: 'output', target: 'draft-7', unrepresentable: 'throw' });
  } catch {
    return zodSerializer(route);
  }
  const stringify = fastJson(jsonSchema as Parameters<typeof fastJson>[0]);
  compiled.set(route.schema, stringify);
  return stringify;
}
