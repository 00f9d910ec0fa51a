#!/usr/bin/env node
// @ts-check
/**
 * The conformance fixture: the server that `@modelcontextprotocol/conformance`
 * 0.1.16's server scenarios expect (its reference is the repository's
 * `examples/servers/typescript/everything-server.ts`, which is not on npm).
 * Every name, text, content block and schema below follows the scenario
 * sources in `src/scenarios/server/*.ts` at tag v0.1.16.
 *
 * Built on the v2 SDK (`@modelcontextprotocol/server`), resolved from the
 * repository's own node_modules: run it with the gateway's Node (20), not
 * with the suite's Node 22.
 *
 *     node conformance/fixture.mjs --stdio
 *     node conformance/fixture.mjs --port 0 [--host 127.0.0.1] [--trace]   # prints `LISTENING <url>` on stdout
 *
 * `--trace` (or CONFORMANCE_FIXTURE_TRACE=1) prints one JSON line per HTTP request to stderr: its JSON-RPC
 * method, `_meta` and `Mcp-*` headers.
 *
 * One factory serves both protocol eras:
 *
 * - 2025-era connections (`initialize`): server-to-client requests
 *   (`sampling/createMessage`, `elicitation/create`) are pushed on the
 *   connection; `resources/subscribe` is tracked per connection.
 * - 2026-07-28 connections: the same tools answer with `input_required`
 *   (multi-round-trip) instead, and change notifications go to
 *   `subscriptions/listen` streams.
 *
 * Over HTTP the 2025-era leg is sessionful (one `NodeStreamableHTTPServerTransport`
 * per `Mcp-Session-Id`, with an in-memory event store and a retry interval for
 * SEP-1699 resumability, so `test_reconnection` can close its stream
 * mid-call), and 2026-07-28 requests are routed by `isLegacyRequest` to
 * `createMcpHandler(factory, { legacy: 'reject' })`, exactly like
 * test/fixtures/servers/http.mjs. The express app comes from
 * `createMcpExpressApp({ host })`, whose Host-header check is the DNS-rebinding
 * protection the `dns-rebinding-protection` scenario probes.
 *
 * stdout carries nothing but protocol on stdio (and only the LISTENING line
 * over HTTP); diagnostics go to stderr.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import {
    completable,
    createMcpHandler,
    fromJsonSchema,
    inputRequired,
    inputResponse,
    isInitializeRequest,
    isLegacyRequest,
    McpServer,
    ResourceTemplate
} from '@modelcontextprotocol/server';
import * as z from 'zod/v4';

// ---- constants from the scenario sources ------------------------------------

/** 1x1 red PNG pixel (the reference server's TEST_IMAGE_BASE64). */
export const TEST_IMAGE_BASE64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
/** Minimal WAV file (the reference server's TEST_AUDIO_BASE64). */
export const TEST_AUDIO_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

export const SIMPLE_TEXT = 'This is a simple text response for testing.';
export const ERROR_TEXT = 'This tool intentionally returns an error for testing';
export const STATIC_TEXT = 'This is the content of the static text resource.';
export const WATCHED_URI = 'test://watched-resource';
export const WATCHED_TEXT = 'Watched resource content';
/** How often a subscribed `test://watched-resource` reports an update (2025 era). */
const WATCH_INTERVAL_MS = 3000;
const LOGGER = 'conformance-test-server';

/** Names of the tools, in registration order. */
export const CONFORMANCE_TOOLS = [
    'test_simple_text',
    'test_image_content',
    'test_audio_content',
    'test_embedded_resource',
    'test_multiple_content_types',
    'test_tool_with_logging',
    'test_tool_with_progress',
    'test_error_handling',
    'test_reconnection',
    'test_sampling',
    'test_elicitation',
    'test_elicitation_sep1034_defaults',
    'test_elicitation_sep1330_enums',
    'json_schema_2020_12_tool'
];

/** SEP-1613: the raw JSON Schema 2020-12 input schema; `$schema`, `$defs` and `additionalProperties` must survive. */
const JSON_SCHEMA_2020_12_INPUT_SCHEMA = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: {
        address: {
            type: 'object',
            properties: {
                street: { type: 'string' },
                city: { type: 'string' }
            }
        }
    },
    properties: {
        name: { type: 'string' },
        address: { $ref: '#/$defs/address' }
    },
    additionalProperties: false
};

/** `tools-call-elicitation`: the schema its description requires. */
const ELICITATION_SCHEMA = {
    type: 'object',
    properties: {
        username: { type: 'string', description: "User's response" },
        email: { type: 'string', description: "User's email address" }
    },
    required: ['username', 'email']
};

/** `elicitation-sep1034-defaults`: a default for every primitive type. */
const SEP1034_SCHEMA = {
    type: 'object',
    properties: {
        name: { type: 'string', description: 'User name', default: 'John Doe' },
        age: { type: 'integer', description: 'User age', default: 30 },
        score: { type: 'number', description: 'User score', default: 95.5 },
        status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
        verified: { type: 'boolean', description: 'Verification status', default: true }
    },
    required: []
};

/** `elicitation-sep1330-enums`: the five enum shapes. */
const SEP1330_SCHEMA = {
    type: 'object',
    properties: {
        untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
        titledSingle: {
            type: 'string',
            description: 'Select one option with titles',
            oneOf: [
                { const: 'value1', title: 'First Option' },
                { const: 'value2', title: 'Second Option' },
                { const: 'value3', title: 'Third Option' }
            ]
        },
        legacyEnum: {
            type: 'string',
            description: 'Select one option (legacy)',
            enum: ['opt1', 'opt2', 'opt3'],
            enumNames: ['Option One', 'Option Two', 'Option Three']
        },
        untitledMulti: {
            type: 'array',
            description: 'Select multiple options',
            minItems: 1,
            maxItems: 3,
            items: { type: 'string', enum: ['option1', 'option2', 'option3'] }
        },
        titledMulti: {
            type: 'array',
            description: 'Select multiple options with titles',
            minItems: 1,
            maxItems: 3,
            items: {
                anyOf: [
                    { const: 'value1', title: 'First Choice' },
                    { const: 'value2', title: 'Second Choice' },
                    { const: 'value3', title: 'Third Choice' }
                ]
            }
        }
    },
    required: []
};

/** Values offered by completion of `test_prompt_with_arguments`.`arg1` (the scenario completes "test"). */
const ARG1_COMPLETIONS = ['paris', 'park', 'party', 'test', 'testValue1', 'testValue2'];
/** Values offered by completion of the template variable `id`. */
const ID_COMPLETIONS = ['1', '123', '42'];

// ---- helpers ----------------------------------------------------------------

/** @typedef {import('@modelcontextprotocol/server').ServerContext} ServerContext */
/** @typedef {import('@modelcontextprotocol/server').CallToolResult} CallToolResult */

/**
 * @param {string} text
 * @param {boolean} [isError]
 * @returns {CallToolResult}
 */
const textResult = (text, isError = false) =>
    isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] };

/** @param {number} ms */
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** @param {unknown} error */
const message = error => (error instanceof Error ? error.message : String(error));

/**
 * One connection's `resources/subscribe` registration (2025 era).
 *
 * @typedef {object} Subscriber
 * @property {(uri: string) => Promise<void>} notify Sends `notifications/resources/updated` on that connection.
 */

/**
 * @typedef {object} FixtureOptions
 * @property {'legacy' | 'modern'} [era] The era of the instance, as a serving entry's factory gets it
 *   (`McpRequestContext.era`). When absent, each handler decides from its request envelope.
 * @property {Map<string, Set<Subscriber>>} [subscriptions] 2025-era subscriptions by URI, shared across the
 *   sessions of the HTTP fixture.
 */

/**
 * Whether the request being handled belongs to the 2026-07-28 era.
 *
 * @param {FixtureOptions} options
 * @param {ServerContext} ctx
 */
function isModern(options, ctx) {
    if (options.era) return options.era === 'modern';
    return ctx.mcpReq.envelope !== undefined && Object.keys(ctx.mcpReq.envelope).length > 0;
}

/**
 * Asks the client for `elicitation/create` (form mode): pushed on a 2025-era
 * connection, or returned as `input_required` on a 2026-07-28 request.
 *
 * @param {FixtureOptions} options
 * @param {ServerContext} ctx
 * @param {string} key `inputRequests` key (2026-07-28).
 * @param {string} text The message.
 * @param {Record<string, unknown>} requestedSchema
 * @param {(result: { action: string, content?: Record<string, unknown> }) => CallToolResult} done
 * @returns {Promise<CallToolResult | import('@modelcontextprotocol/server').InputRequiredResult>}
 */
async function elicit(options, ctx, key, text, requestedSchema, done) {
    const params = /** @type {any} */ ({ message: text, requestedSchema });
    if (isModern(options, ctx)) {
        const view = inputResponse(ctx.mcpReq.inputResponses, key);
        if (view.kind !== 'elicit') return inputRequired({ inputRequests: { [key]: inputRequired.elicit(params) } });
        return done(view.content === undefined ? { action: view.action } : { action: view.action, content: view.content });
    }
    try {
        const result = await ctx.mcpReq.elicitInput({ mode: 'form', ...params }, { signal: ctx.mcpReq.signal });
        return done(result);
    } catch (error) {
        return textResult(`Elicitation not supported or error: ${message(error)}`, true);
    }
}

/**
 * Builds one conformance `McpServer` instance.
 *
 * @param {FixtureOptions} [options]
 * @returns {McpServer}
 */
export function buildConformanceServer(options = {}) {
    const registry = options.subscriptions ?? new Map();
    const server = new McpServer(
        { name: 'mcp-conformance-test-server', version: '1.0.0' },
        {
            capabilities: {
                tools: { listChanged: true },
                resources: { subscribe: true, listChanged: true },
                prompts: { listChanged: true },
                logging: {},
                completions: {}
            }
        }
    );

    // ---- tools --------------------------------------------------------------

    server.registerTool('test_simple_text', { description: 'Tests simple text content response' }, async () =>
        textResult(SIMPLE_TEXT)
    );

    server.registerTool('test_image_content', { description: 'Tests image content response' }, async () => ({
        content: [{ type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' }]
    }));

    server.registerTool('test_audio_content', { description: 'Tests audio content response' }, async () => ({
        content: [{ type: 'audio', data: TEST_AUDIO_BASE64, mimeType: 'audio/wav' }]
    }));

    server.registerTool('test_embedded_resource', { description: 'Tests embedded resource content response' }, async () => ({
        content: [
            {
                type: 'resource',
                resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' }
            }
        ]
    }));

    server.registerTool(
        'test_multiple_content_types',
        { description: 'Tests response with multiple content types (text, image, resource)' },
        async () => ({
            content: [
                { type: 'text', text: 'Multiple content types test:' },
                { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' },
                {
                    type: 'resource',
                    resource: {
                        uri: 'test://mixed-content-resource',
                        mimeType: 'application/json',
                        text: JSON.stringify({ test: 'data', value: 123 })
                    }
                }
            ]
        })
    );

    server.registerTool('test_tool_with_logging', { description: 'Tests tool that emits log messages during execution' }, async ctx => {
        // ctx.mcpReq.log: related to this request (it travels on the call's own stream) and filtered by
        // the level the client set with logging/setLevel.
        await ctx.mcpReq.log('info', 'Tool execution started', LOGGER);
        await sleep(50);
        await ctx.mcpReq.log('info', 'Tool processing data', LOGGER);
        await sleep(50);
        await ctx.mcpReq.log('info', 'Tool execution completed', LOGGER);
        return textResult('Tool with logging executed successfully');
    });

    server.registerTool('test_tool_with_progress', { description: 'Tests tool that reports progress notifications' }, async ctx => {
        const progressToken = ctx.mcpReq._meta?.progressToken;
        for (const progress of [0, 50, 100]) {
            if (progressToken !== undefined) {
                await ctx.mcpReq.notify({
                    method: 'notifications/progress',
                    params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` }
                });
            }
            // ~50 ms between steps, as the scenario asks; a short pause after the last one too, because SDK
            // clients dispatch notifications in a microtask but settle a response synchronously: a progress
            // notification that arrives in the same read chunk as the result would be dropped.
            await sleep(progress === 100 ? 20 : 50);
        }
        return textResult(String(progressToken ?? 'no progress token'));
    });

    server.registerTool('test_error_handling', { description: 'Tests error response handling' }, async () =>
        textResult(ERROR_TEXT, true)
    );

    server.registerTool(
        'test_reconnection',
        {
            description:
                'Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.'
        },
        async ctx => {
            // Only a 2025-era sessionful HTTP stream with an event store can be closed and resumed.
            ctx.http?.closeSSE?.();
            await sleep(100);
            return textResult(
                'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.'
            );
        }
    );

    server.registerTool(
        'test_sampling',
        {
            description: 'Tests server-initiated sampling (LLM completion request)',
            inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') })
        },
        async ({ prompt }, ctx) => {
            const params = {
                messages: [{ role: /** @type {const} */ ('user'), content: { type: /** @type {const} */ ('text'), text: prompt } }],
                maxTokens: 100
            };
            /** @type {import('@modelcontextprotocol/server').CreateMessageResult | import('@modelcontextprotocol/server').CreateMessageResultWithTools} */
            let result;
            if (isModern(options, ctx)) {
                const view = inputResponse(ctx.mcpReq.inputResponses, 'sampling');
                if (view.kind !== 'sampling') return inputRequired({ inputRequests: { sampling: inputRequired.createMessage(params) } });
                result = view.result;
            } else {
                try {
                    result = await ctx.mcpReq.requestSampling(params, { signal: ctx.mcpReq.signal });
                } catch (error) {
                    return textResult(`Sampling not supported or error: ${message(error)}`, true);
                }
            }
            const blocks = Array.isArray(result.content) ? result.content : [result.content];
            const text = blocks.map(block => (block.type === 'text' ? block.text : `[${block.type}]`)).join('');
            return textResult(`LLM response: ${text || 'No response'}`);
        }
    );

    server.registerTool(
        'test_elicitation',
        {
            description: 'Tests server-initiated elicitation (user input request)',
            inputSchema: z.object({ message: z.string().describe('The message to show the user') })
        },
        async ({ message: text }, ctx) =>
            elicit(options, ctx, 'elicitation', text, ELICITATION_SCHEMA, result =>
                textResult(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)
            )
    );

    server.registerTool(
        'test_elicitation_sep1034_defaults',
        { description: 'Tests elicitation with default values per SEP-1034' },
        async ctx =>
            elicit(options, ctx, 'defaults', 'Please review and update the form fields with defaults', SEP1034_SCHEMA, result =>
                textResult(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)
            )
    );

    server.registerTool(
        'test_elicitation_sep1330_enums',
        { description: 'Tests elicitation with enum schema improvements per SEP-1330' },
        async ctx =>
            elicit(options, ctx, 'enums', 'Please select options from the enum fields', SEP1330_SCHEMA, result =>
                textResult(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)
            )
    );

    server.registerTool(
        'json_schema_2020_12_tool',
        {
            description: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)',
            inputSchema: fromJsonSchema(/** @type {any} */ (JSON_SCHEMA_2020_12_INPUT_SCHEMA))
        },
        async args => textResult(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`)
    );

    // ---- resources ----------------------------------------------------------

    server.registerResource(
        'static-text',
        'test://static-text',
        { title: 'Static Text Resource', description: 'A static text resource for testing', mimeType: 'text/plain' },
        async () => ({ contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: STATIC_TEXT }] })
    );

    server.registerResource(
        'static-binary',
        'test://static-binary',
        { title: 'Static Binary Resource', description: 'A static binary resource (image) for testing', mimeType: 'image/png' },
        async () => ({ contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: TEST_IMAGE_BASE64 }] })
    );

    server.registerResource(
        'template',
        new ResourceTemplate('test://template/{id}/data', {
            list: undefined,
            complete: { id: value => ID_COMPLETIONS.filter(id => id.startsWith(value)) }
        }),
        { title: 'Resource Template', description: 'A resource template with parameter substitution', mimeType: 'application/json' },
        async (uri, { id }) => ({
            contents: [
                {
                    uri: uri.href,
                    mimeType: 'application/json',
                    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` })
                }
            ]
        })
    );

    server.registerResource(
        'watched-resource',
        WATCHED_URI,
        { title: 'Watched Resource', description: 'A resource that auto-updates every 3 seconds', mimeType: 'text/plain' },
        async () => ({ contents: [{ uri: WATCHED_URI, mimeType: 'text/plain', text: WATCHED_TEXT }] })
    );

    // 2025-era subscriptions. A subscribed `test://watched-resource` reports an update every 3 s on the
    // connection that subscribed (2026-07-28 clients use `subscriptions/listen`, which the SDK serves).
    /** URIs this connection subscribed to, with the watch timer of each. */
    const subscribed = new Map();
    /** @type {Subscriber} */
    const self = { notify: uri => server.server.sendResourceUpdated({ uri }) };
    const lowLevel = server.server;
    /** @param {string} uri */
    const unsubscribe = uri => {
        if (subscribed.has(uri)) clearInterval(subscribed.get(uri));
        subscribed.delete(uri);
        const set = registry.get(uri);
        set?.delete(self);
        if (set?.size === 0) registry.delete(uri);
    };
    lowLevel.setRequestHandler('resources/subscribe', async request => {
        const { uri } = request.params;
        if (!subscribed.has(uri)) {
            const timer =
                uri === WATCHED_URI
                    ? setInterval(() => void self.notify(uri).catch(() => {}), WATCH_INTERVAL_MS).unref()
                    : undefined;
            subscribed.set(uri, timer);
        }
        let set = registry.get(uri);
        if (!set) registry.set(uri, (set = new Set()));
        set.add(self);
        return {};
    });
    lowLevel.setRequestHandler('resources/unsubscribe', async request => {
        unsubscribe(request.params.uri);
        return {};
    });
    lowLevel.onclose = () => {
        for (const uri of [...subscribed.keys()]) unsubscribe(uri);
    };

    // ---- prompts ------------------------------------------------------------

    server.registerPrompt(
        'test_simple_prompt',
        { title: 'Simple Test Prompt', description: 'A simple prompt without arguments' },
        async () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }] })
    );

    server.registerPrompt(
        'test_prompt_with_arguments',
        {
            title: 'Prompt With Arguments',
            description: 'A prompt with required arguments',
            argsSchema: z.object({
                arg1: completable(z.string().describe('First test argument'), value =>
                    ARG1_COMPLETIONS.filter(candidate => candidate.startsWith(value))
                ),
                arg2: z.string().describe('Second test argument')
            })
        },
        async ({ arg1, arg2 }) => ({
            messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }]
        })
    );

    server.registerPrompt(
        'test_prompt_with_embedded_resource',
        {
            title: 'Prompt With Embedded Resource',
            description: 'A prompt that includes an embedded resource',
            argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') })
        },
        async ({ resourceUri }) => ({
            messages: [
                {
                    role: 'user',
                    content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } }
                },
                { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }
            ]
        })
    );

    server.registerPrompt(
        'test_prompt_with_image',
        { title: 'Prompt With Image', description: 'A prompt that includes image content' },
        async () => ({
            messages: [
                { role: 'user', content: { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' } },
                { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
            ]
        })
    );

    return server;
}

// ---- serving ------------------------------------------------------------------

/** In-memory SEP-1699 event store (one per 2025-era session). @returns {import('@modelcontextprotocol/server').EventStore} */
function createEventStore() {
    /** @type {Map<string, { streamId: string, message: import('@modelcontextprotocol/server').JSONRPCMessage }>} */
    const events = new Map();
    let counter = 0;
    return {
        async storeEvent(streamId, message) {
            const eventId = `${streamId}::${String(++counter).padStart(12, '0')}`;
            events.set(eventId, { streamId, message });
            return eventId;
        },
        async getStreamIdForEventId(eventId) {
            return events.get(eventId)?.streamId ?? eventId.split('::')[0];
        },
        async replayEventsAfter(lastEventId, { send }) {
            const streamId = lastEventId.split('::')[0] ?? '';
            for (const [eventId, event] of events) {
                if (event.streamId === streamId && eventId > lastEventId && Object.keys(event.message).length > 0) {
                    await send(eventId, event.message);
                }
            }
            return streamId;
        }
    };
}

/**
 * Serves the fixture over Streamable HTTP on `/mcp`.
 *
 * @param {{ port?: number, host?: string, trace?: boolean }} [options] `trace`: print one JSON line per
 *   request to stderr (HTTP method, JSON-RPC method, `_meta`, MCP headers), for investigating what a client
 *   (the gateway) really sent.
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function startHttpFixture({ port = 0, host = '127.0.0.1', trace = false } = {}) {
    const subscriptions = new Map();

    // 2026-07-28 requests: one instance per request, change events through handler.notify.
    const handler = createMcpHandler(({ era }) => buildConformanceServer({ era }), {
        legacy: 'reject',
        onerror: error => console.error(`conformance fixture: ${error.message}`)
    });
    const handlerNode = toNodeHandler(handler, { onerror: error => console.error(`conformance fixture: ${error.message}`) });

    // 2025-era requests: sessionful.
    /** @type {Map<string, NodeStreamableHTTPServerTransport>} */
    const sessions = new Map();
    /**
     * @param {import('express').Request} req
     * @param {import('express').Response} res
     */
    const handleLegacy = async (req, res) => {
        const sid = req.headers['mcp-session-id'];
        const sessionId = Array.isArray(sid) ? sid[0] : sid;
        const existing = sessionId === undefined ? undefined : sessions.get(sessionId);
        if (existing) {
            await existing.handleRequest(req, res, req.body);
        } else if (sessionId === undefined && req.method === 'POST' && isInitializeRequest(req.body)) {
            const transport = new NodeStreamableHTTPServerTransport({
                sessionIdGenerator: () => randomUUID(),
                eventStore: createEventStore(),
                retryInterval: 1000,
                onsessioninitialized: id => {
                    sessions.set(id, transport);
                }
            });
            transport.onclose = () => {
                if (transport.sessionId) sessions.delete(transport.sessionId);
            };
            await buildConformanceServer({ era: 'legacy', subscriptions }).connect(transport);
            await transport.handleRequest(req, res, req.body);
        } else if (sessionId !== undefined) {
            res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        } else {
            res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: Session ID required' }, id: null });
        }
    };

    // Host-header validation for loopback binds: the DNS-rebinding protection.
    const app = createMcpExpressApp({ host });
    if (trace) {
        app.use('/mcp', (req, _res, next) => {
            const messages = Array.isArray(req.body) ? req.body : req.body === undefined ? [] : [req.body];
            const headers = Object.fromEntries(Object.entries(req.headers).filter(([key]) => key.startsWith('mcp-')));
            for (const msg of messages.length > 0 ? messages : [undefined]) {
                const entry = { http: req.method, headers };
                if (msg) Object.assign(entry, { rpc: msg.method ?? '(response)', id: msg.id, _meta: msg.params?._meta });
                console.error(`conformance fixture trace: ${JSON.stringify(entry)}`);
            }
            next();
        });
    }

    /**
     * @param {(req: import('express').Request, res: import('express').Response) => Promise<void>} fn
     * @returns {import('express').RequestHandler}
     */
    const guarded = fn => (req, res) => {
        fn(req, res).catch(error => {
            console.error(`conformance fixture: ${error?.stack ?? error}`);
            if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: String(error) }, id: null });
            else res.end();
        });
    };

    app.post(
        '/mcp',
        guarded(async (req, res) => {
            // express.json() already drained the stream: build the probe from the parsed body.
            const probe = await toWebRequest(req, req.body);
            if (await isLegacyRequest(probe)) await handleLegacy(req, res);
            else await handlerNode(req, res, req.body);
        })
    );
    app.get('/mcp', guarded(handleLegacy));
    app.delete('/mcp', guarded(handleLegacy));

    const httpServer = app.listen(port, host);
    await once(httpServer, 'listening');
    const address = httpServer.address();
    if (address === null || typeof address === 'string') throw new Error('conformance fixture: unexpected server address');
    const urlHost = host.includes(':') ? `[${host}]` : host;
    const url = `http://${urlHost}:${address.port}/mcp`;

    let closed = false;
    return {
        url,
        port: address.port,
        async close() {
            if (closed) return;
            closed = true;
            const stopped = new Promise(resolve => httpServer.close(() => resolve(undefined)));
            await Promise.allSettled([...sessions.values()].map(transport => transport.close()));
            sessions.clear();
            await handler.close();
            httpServer.closeAllConnections();
            await stopped;
        }
    };
}

/** Serves the fixture over stdio; resolves with a close function. */
export async function startStdioFixture() {
    const { serveStdio } = await import('@modelcontextprotocol/server/stdio');
    // The factory runs once for the connection (plus once for a discarded `server/discover` probe).
    const handle = serveStdio(({ era }) => buildConformanceServer({ era }), {
        onerror: error => console.error(`conformance fixture: ${error.stack ?? error.message}`)
    });
    return { close: () => handle.close() };
}

async function main() {
    const { values } = parseArgs({
        options: {
            stdio: { type: 'boolean', default: false },
            port: { type: 'string' },
            host: { type: 'string', default: '127.0.0.1' },
            trace: { type: 'boolean', default: process.env.CONFORMANCE_FIXTURE_TRACE === '1' }
        },
        strict: true
    });
    if (values.stdio === (values.port !== undefined)) {
        console.error('usage: node conformance/fixture.mjs --stdio | --port N [--host H]');
        process.exit(2);
    }

    /** @type {{ close: () => Promise<void> }} */
    let fixture;
    if (values.stdio) {
        fixture = await startStdioFixture();
        process.stdin.on('end', () => stop('stdin closed'));
        console.error('conformance fixture: serving on stdio');
    } else {
        const port = Number(values.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
            console.error(`conformance fixture: --port must be an integer 0-65535, got ${values.port}`);
            process.exit(2);
        }
        const http = await startHttpFixture({ port, host: values.host, trace: values.trace });
        fixture = http;
        process.stdout.write(`LISTENING ${http.url}\n`);
    }

    let stopping = false;
    /** @param {string} why */
    function stop(why) {
        if (stopping) return;
        stopping = true;
        console.error(`conformance fixture: shutting down (${why})`);
        fixture.close().then(
            () => process.exit(0),
            error => {
                console.error(`conformance fixture: close failed: ${error}`);
                process.exit(1);
            }
        );
    }
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
    main().catch(error => {
        console.error(`conformance fixture: ${error?.stack ?? error}`);
        process.exit(1);
    });
}
