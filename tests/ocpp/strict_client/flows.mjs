// An independent OCPP-J charging station: runs one full session flow (OCPP 1.6 or 2.0.1) against the CSMS with
// ocpp-rpc in strict mode, so every request it sends and every answer it receives is validated against the
// official OCPP JSON schemas bundled with ocpp-rpc. Any schema failure, CALLERROR, dropped connection or malformed
// frame ends the run with exit code 1. Stdout gets one JSON summary either way; see docs/ocpp-strict-client.md.
//
//   node flows.mjs --url ws://127.0.0.1:8000/ocpp/alpha --identity CP-1 --password secret \
//                  --protocol ocpp1.6 --id-tag TAG-0001
//
// With --serve N it boots and then answers the CSMS's remote operations instead: strict mode validates every CALL
// the CSMS sends against the official schemas (a violation fails the run); it stops after N of them.

import { parseArgs } from 'node:util';
import rpc from 'ocpp-rpc';

const { RPCClient, createRPCError } = rpc;

const PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1'];
const CALL_TIMEOUT_MS = 15000;

// Meter readings of the flows (Wh). The test checks the CSMS stored meter stop − meter start.
const V16_METER_START_WH = 1000;
const V16_METER_STOP_WH = 13250;
const V201_METER_START_WH = 2000;
const V201_METER_STOP_WH = 17500;

class FlowFailure extends Error {
    constructor(message, details) {
        super(message);
        this.details = details;
    }
}

function usage(message) {
    process.stderr.write(
        `${message}\nusage: node flows.mjs --url ws://HOST:PORT/ocpp/TENANT --identity ID [--password PW] ` +
            `--protocol ${PROTOCOLS.join('|')} --id-tag TAG\n`,
    );
    process.exit(2);
}

function options() {
    let values;
    try {
        ({ values } = parseArgs({
            options: {
                url: { type: 'string' },
                identity: { type: 'string' },
                password: { type: 'string' },
                protocol: { type: 'string' },
                'id-tag': { type: 'string' },
                serve: { type: 'string' },
            },
            strict: true,
        }));
    } catch (error) {
        usage(error.message);
    }
    for (const name of ['url', 'identity', 'protocol', ...(values.serve ? [] : ['id-tag'])]) {
        if (!values[name]) usage(`--${name} is required`);
    }
    if (!PROTOCOLS.includes(values.protocol)) usage(`--protocol must be one of ${PROTOCOLS.join(', ')}`);
    return values;
}

/** Timestamps of a session that started an hour ago: `at(minutes)` is ISO 8601 UTC with a Z. */
function clock() {
    const start = Math.floor(Date.now() / 1000) * 1000 - 60 * 60 * 1000;
    return (minutes) => new Date(start + minutes * 60 * 1000).toISOString();
}

/** A station connection whose every call must come back as a schema-valid CALLRESULT. */
class Station {
    constructor(client) {
        this.client = client;
        this.calls = []; // {action, messageId} of every CALL sent, in order
        this.answers = {};
        this.validationFailures = [];
        this.protocolFailures = [];
        this.serverCalls = [];
        this.connected = false;
        this.finished = false;

        client.on('call', ({ outbound, payload }) => {
            if (outbound) this.calls.push({ action: payload[2], messageId: payload[1] });
        });
        client.on('strictValidationFailure', (event) => {
            this.validationFailures.push({
                action: event.method,
                messageId: event.messageId,
                direction: event.outbound ? 'sent' : 'received',
                frame: event.isCall ? 'CALL' : 'CALLRESULT',
                params: event.params,
                result: event.result,
                error: describe(event.error),
            });
        });
        client.on('badMessage', ({ buffer, error }) => {
            this.protocolFailures.push({ frame: String(buffer).slice(0, 2000), error: describe(error) });
        });
        client.on('close', ({ code, reason }) => {
            if (this.connected && !this.finished) {
                this.protocolFailures.push({ closed: { code, reason: String(reason ?? '') } });
            }
        });
        // A CALL from the CSMS is validated by strict mode before it reaches a handler (an invalid one is a
        // strictValidationFailure). In a session flow this station implements none: a valid one is answered
        // NotImplemented. When serving (--serve), each gets a schema-valid answer.
        this.serving = null;
        client.handle(({ method, params, messageId }) => {
            this.serverCalls.push({ action: method, messageId, params });
            if (!this.serving) {
                throw createRPCError('NotImplemented', `the strict test station does not handle ${method}`);
            }
            const answer = operationAnswer(client.protocol, method, params);
            if (this.serverCalls.length >= this.serving.count) setTimeout(this.serving.done, 300);
            return answer;
        });
    }

    /** Answer the CSMS's CALLs until `count` have come, or fail after `timeoutMs`. */
    serve(count, timeoutMs) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => reject(new FlowFailure(`only ${this.serverCalls.length} of ${count} operations arrived`, {})),
                timeoutMs,
            );
            this.serving = {
                count,
                done: () => {
                    clearTimeout(timer);
                    resolve();
                },
            };
        });
    }

    async call(action, params, key = action) {
        let answer;
        try {
            answer = await this.client.call(action, params, { callTimeoutMs: CALL_TIMEOUT_MS });
        } catch (error) {
            const validation = this.validationFailures.findLast((failure) => failure.action === action);
            const kind = validation ? 'strict validation failed' : error.rpcErrorCode ? 'CALLERROR' : 'call failed';
            throw new FlowFailure(`${action}: ${kind}: ${error.message}`, {
                action,
                sent: params,
                answer: validation?.result ?? null,
                error: describe(error),
                validation: validation ?? null,
            });
        }
        this.answers[key] = answer;
        return answer;
    }
}

function describe(error) {
    if (!error) return null;
    const described = { name: error.name, message: error.message };
    if (error.rpcErrorCode) described.code = error.rpcErrorCode;
    if (error.details && Object.keys(error.details).length) {
        // ajv's errors say which part of the payload broke which rule of the schema
        described.details = error.details.errors ?? error.details;
    }
    return described;
}

// --- OCPP 1.6 ----------------------------------------------------------------------------------------------------

function v16Sample(value, unit, measurand, context, extra = {}) {
    return { value, unit, measurand, context, format: 'Raw', ...extra };
}

async function flow16(station, idTag) {
    const at = clock();
    const boot = await station.call('BootNotification', {
        chargePointVendor: 'StrictVendor',
        chargePointModel: 'AC-Strict-22',
        chargePointSerialNumber: 'SN-STRICT-16',
        firmwareVersion: '1.6.22',
        meterType: 'DC-Meter',
    });
    if (boot.status !== 'Accepted') throw new FlowFailure(`BootNotification answered ${boot.status}`, { boot });

    await station.call(
        'StatusNotification',
        { connectorId: 0, errorCode: 'NoError', status: 'Available', timestamp: at(-1) },
        'StatusNotification.Station',
    );
    await station.call(
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: at(-0.5) },
        'StatusNotification.Preparing',
    );
    const authorize = await station.call('Authorize', { idTag });
    const start = await station.call('StartTransaction', {
        connectorId: 1,
        idTag,
        meterStart: V16_METER_START_WH,
        timestamp: at(0),
    });
    const transactionId = start.transactionId;
    await station.call(
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: at(0.1) },
        'StatusNotification.Charging',
    );

    const periodic = 'Sample.Periodic';
    await station.call('MeterValues', {
        connectorId: 1,
        transactionId,
        meterValue: [
            {
                timestamp: at(20),
                sampledValue: [
                    v16Sample('5200', 'Wh', 'Energy.Active.Import.Register', periodic, { location: 'Outlet' }),
                    v16Sample('11040', 'W', 'Power.Active.Import', periodic),
                    v16Sample('16.0', 'A', 'Current.Import', periodic, { phase: 'L1' }),
                    v16Sample('15.9', 'A', 'Current.Import', periodic, { phase: 'L2' }),
                    v16Sample('16.1', 'A', 'Current.Import', periodic, { phase: 'L3' }),
                    v16Sample('230.1', 'V', 'Voltage', periodic, { phase: 'L1-N' }),
                    v16Sample('229.8', 'V', 'Voltage', periodic, { phase: 'L2-N' }),
                    v16Sample('231.0', 'V', 'Voltage', periodic, { phase: 'L3-N' }),
                    v16Sample('48', 'Percent', 'SoC', periodic, { location: 'EV' }),
                ],
            },
            {
                timestamp: at(40),
                sampledValue: [
                    v16Sample('9.750', 'kWh', 'Energy.Active.Import.Register', periodic),
                    v16Sample('11.1', 'kW', 'Power.Active.Import', periodic),
                    v16Sample('72', 'Percent', 'SoC', periodic, { location: 'EV' }),
                ],
            },
        ],
    });

    await station.call(
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'SuspendedEV', timestamp: at(59) },
        'StatusNotification.SuspendedEV',
    );
    const stop = await station.call('StopTransaction', {
        transactionId,
        idTag,
        meterStop: V16_METER_STOP_WH,
        timestamp: at(60),
        reason: 'Local',
        transactionData: [
            {
                timestamp: at(0),
                sampledValue: [
                    v16Sample(String(V16_METER_START_WH), 'Wh', 'Energy.Active.Import.Register', 'Transaction.Begin'),
                ],
            },
            {
                timestamp: at(60),
                sampledValue: [
                    v16Sample(
                        (V16_METER_STOP_WH / 1000).toFixed(3),
                        'kWh',
                        'Energy.Active.Import.Register',
                        'Transaction.End',
                    ),
                    v16Sample('0', 'W', 'Power.Active.Import', 'Transaction.End'),
                    v16Sample('80', 'Percent', 'SoC', 'Transaction.End', { location: 'EV' }),
                ],
            },
        ],
    });
    await station.call(
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'Finishing', timestamp: at(60.1) },
        'StatusNotification.Finishing',
    );
    await station.call(
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: at(61) },
        'StatusNotification.Available',
    );
    const heartbeat = await station.call('Heartbeat', {});
    const dataTransfer = await station.call('DataTransfer', {
        vendorId: 'org.example.strict',
        messageId: 'Probe',
        data: '{"probe":true}',
    });
    await station.call('DiagnosticsStatusNotification', { status: 'Uploaded' });
    await station.call('FirmwareStatusNotification', { status: 'Installed' });

    return {
        transactionId: String(transactionId),
        meterStartWh: V16_METER_START_WH,
        meterStopWh: V16_METER_STOP_WH,
        statuses: {
            boot: boot.status,
            heartbeatInterval: boot.interval,
            authorize: authorize.idTagInfo.status,
            start: start.idTagInfo.status,
            stop: stop.idTagInfo?.status ?? null,
            dataTransfer: dataTransfer.status,
            heartbeatCurrentTime: heartbeat.currentTime,
        },
    };
}

// --- OCPP 2.0.1 --------------------------------------------------------------------------------------------------

function v201Sample(value, measurand, context, unit, extra = {}) {
    return { value, measurand, context, unitOfMeasure: { unit }, ...extra };
}

async function flow201(station, idTag, identity) {
    const at = clock();
    const idToken = { idToken: idTag, type: 'ISO14443' };
    // unique per run, so the flow can be repeated against the same database
    const transactionId = `${identity.slice(0, 26)}-${Date.now().toString(36)}`;
    const evse = { id: 1, connectorId: 1 };

    const boot = await station.call('BootNotification', {
        reason: 'PowerUp',
        chargingStation: {
            model: 'DC-Strict-50',
            vendorName: 'StrictVendor',
            serialNumber: 'SN-STRICT-201',
            firmwareVersion: '2.0.1-strict',
            modem: { iccid: '8931000000000000001', imsi: '901700000000001' },
        },
    });
    if (boot.status !== 'Accepted') throw new FlowFailure(`BootNotification answered ${boot.status}`, { boot });

    await station.call(
        'StatusNotification',
        { timestamp: at(-1), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 },
        'StatusNotification.Occupied',
    );
    const authorize = await station.call('Authorize', { idToken });
    const started = await station.call(
        'TransactionEvent',
        {
            eventType: 'Started',
            timestamp: at(0),
            triggerReason: 'Authorized',
            seqNo: 0,
            transactionInfo: { transactionId, chargingState: 'Charging' },
            idToken,
            evse,
            meterValue: [
                {
                    timestamp: at(0),
                    sampledValue: [
                        v201Sample(V201_METER_START_WH, 'Energy.Active.Import.Register', 'Transaction.Begin', 'Wh'),
                    ],
                },
            ],
        },
        'TransactionEvent.Started',
    );
    const periodic = 'Sample.Periodic';
    const updated = await station.call(
        'TransactionEvent',
        {
            eventType: 'Updated',
            timestamp: at(30),
            triggerReason: 'MeterValuePeriodic',
            seqNo: 1,
            transactionInfo: { transactionId, chargingState: 'Charging' },
            meterValue: [
                {
                    timestamp: at(30),
                    sampledValue: [
                        v201Sample(9.0, 'Energy.Active.Import.Register', periodic, 'kWh'),
                        v201Sample(49.5, 'Power.Active.Import', periodic, 'W', {
                            unitOfMeasure: { unit: 'W', multiplier: 3 },
                        }),
                        v201Sample(71.2, 'Current.Import', periodic, 'A', { phase: 'L1' }),
                        v201Sample(71.0, 'Current.Import', periodic, 'A', { phase: 'L2' }),
                        v201Sample(71.4, 'Current.Import', periodic, 'A', { phase: 'L3' }),
                        v201Sample(230.5, 'Voltage', periodic, 'V', { phase: 'L1-N' }),
                        v201Sample(55, 'SoC', periodic, 'Percent', { location: 'EV' }),
                    ],
                },
            ],
        },
        'TransactionEvent.Updated',
    );
    await station.call('MeterValues', {
        evseId: 1,
        meterValue: [
            {
                timestamp: at(45),
                sampledValue: [
                    v201Sample(13250, 'Energy.Active.Import.Register', periodic, 'Wh'),
                    v201Sample(230.2, 'Voltage', periodic, 'V', { phase: 'L2-N' }),
                    v201Sample(68, 'SoC', periodic, 'Percent', { location: 'EV' }),
                ],
            },
        ],
    });
    const ended = await station.call(
        'TransactionEvent',
        {
            eventType: 'Ended',
            timestamp: at(60),
            triggerReason: 'StopAuthorized',
            seqNo: 2,
            transactionInfo: { transactionId, chargingState: 'Idle', stoppedReason: 'Local' },
            idToken,
            evse,
            meterValue: [
                {
                    timestamp: at(60),
                    sampledValue: [
                        v201Sample(
                            V201_METER_STOP_WH / 1000,
                            'Energy.Active.Import.Register',
                            'Transaction.End',
                            'kWh',
                        ),
                        v201Sample(80, 'SoC', 'Transaction.End', 'Percent', { location: 'EV' }),
                    ],
                },
            ],
        },
        'TransactionEvent.Ended',
    );
    await station.call(
        'StatusNotification',
        { timestamp: at(61), connectorStatus: 'Available', evseId: 1, connectorId: 1 },
        'StatusNotification.Available',
    );
    const heartbeat = await station.call('Heartbeat', {});
    await station.call('NotifyEvent', {
        generatedAt: at(62),
        seqNo: 0,
        tbc: false,
        eventData: [
            {
                eventId: 1,
                timestamp: at(62),
                trigger: 'Delta',
                actualValue: 'false',
                eventNotificationType: 'HardWiredNotification',
                component: { name: 'ChargingStation' },
                variable: { name: 'Problem' },
            },
            {
                eventId: 2,
                timestamp: at(62),
                trigger: 'Alerting',
                actualValue: '41.5',
                techCode: 'T-HIGH',
                eventNotificationType: 'CustomMonitor',
                component: { name: 'TemperatureSensor', evse: { id: 1 } },
                variable: { name: 'Temperature' },
            },
        ],
    });
    await station.call('SecurityEventNotification', {
        type: 'StartupOfTheDevice',
        timestamp: at(62),
        techInfo: 'strict client boot',
    });
    await station.call('FirmwareStatusNotification', { status: 'Installed', requestId: 11 });
    await station.call('LogStatusNotification', { status: 'Uploaded', requestId: 12 });
    await station.call('NotifyReport', {
        requestId: 13,
        generatedAt: at(63),
        seqNo: 0,
        tbc: false,
        reportData: [
            {
                component: { name: 'ChargingStation' },
                variable: { name: 'Model' },
                variableAttribute: [{ type: 'Actual', value: 'DC-Strict-50', mutability: 'ReadOnly' }],
                variableCharacteristics: { dataType: 'string', supportsMonitoring: false },
            },
            {
                component: { name: 'EVSE', evse: { id: 1 } },
                variable: { name: 'Power' },
                variableAttribute: [{ type: 'MaxSet', value: '50000' }],
                variableCharacteristics: { unit: 'W', dataType: 'decimal', supportsMonitoring: true },
            },
        ],
    });
    const dataTransfer = await station.call('DataTransfer', {
        vendorId: 'org.example.strict',
        messageId: 'Probe',
        data: { probe: true },
    });
    await station.call('ReservationStatusUpdate', { reservationId: 42, reservationUpdateStatus: 'Expired' });
    await station.call('NotifyChargingLimit', {
        evseId: 1,
        chargingLimit: { chargingLimitSource: 'EMS', isGridCritical: false },
    });
    await station.call('ClearedChargingLimit', { chargingLimitSource: 'EMS', evseId: 1 });

    return {
        transactionId,
        meterStartWh: V201_METER_START_WH,
        meterStopWh: V201_METER_STOP_WH,
        statuses: {
            boot: boot.status,
            heartbeatInterval: boot.interval,
            authorize: authorize.idTokenInfo.status,
            started: started.idTokenInfo?.status ?? null,
            updated: updated.idTokenInfo?.status ?? null,
            ended: ended.idTokenInfo?.status ?? null,
            dataTransfer: dataTransfer.status,
            heartbeatCurrentTime: heartbeat.currentTime,
        },
    };
}

// --- remote operations (--serve) ---------------------------------------------------------------------------------

const STATUS_ANSWERS = {
    Reset: 'Accepted',
    RemoteStartTransaction: 'Accepted',
    RemoteStopTransaction: 'Accepted',
    RequestStartTransaction: 'Accepted',
    RequestStopTransaction: 'Accepted',
    UnlockConnector: 'Unlocked',
    ChangeAvailability: 'Accepted',
    TriggerMessage: 'Accepted',
    ClearCache: 'Accepted',
    ChangeConfiguration: 'Accepted',
    GetBaseReport: 'Accepted',
    DataTransfer: 'Accepted',
    SendLocalList: 'Accepted',
    ReserveNow: 'Accepted',
    CancelReservation: 'Accepted',
    SetChargingProfile: 'Accepted',
    ClearChargingProfile: 'Accepted',
    GetCompositeSchedule: 'Accepted',
};

/** A schema-valid answer of a station that does what it is asked. */
function operationAnswer(protocol, method, params) {
    if (method === 'GetConfiguration') {
        return { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }], unknownKey: [] };
    }
    if (method === 'GetVariables') {
        return {
            getVariableResult: params.getVariableData.map((item) => ({
                attributeStatus: 'Accepted',
                attributeType: item.attributeType ?? 'Actual',
                attributeValue: '1',
                component: item.component,
                variable: item.variable,
            })),
        };
    }
    if (method === 'SetVariables') {
        return {
            setVariableResult: params.setVariableData.map((item) => ({
                attributeStatus: 'Accepted',
                attributeType: item.attributeType ?? 'Actual',
                component: item.component,
                variable: item.variable,
            })),
        };
    }
    const v16 = protocol === 'ocpp1.6';
    if (method === 'UpdateFirmware') return v16 ? {} : { status: 'Accepted' };
    if (method === 'GetDiagnostics') return { fileName: 'diagnostics.zip' };
    if (method === 'GetLog') return { status: 'Accepted', filename: 'log.zip' };
    if (method === 'GetLocalListVersion') return v16 ? { listVersion: 1 } : { versionNumber: 1 };
    if (method in STATUS_ANSWERS) return { status: STATUS_ANSWERS[method] };
    throw createRPCError('NotImplemented', `the strict test station does not handle ${method}`);
}

async function serveOperations(station, protocol, count) {
    const boot =
        protocol === 'ocpp1.6'
            ? await station.call('BootNotification', { chargePointVendor: 'StrictVendor', chargePointModel: 'AC' })
            : await station.call('BootNotification', {
                  reason: 'PowerUp',
                  chargingStation: { model: 'DC-Strict-50', vendorName: 'StrictVendor' },
              });
    if (boot.status !== 'Accepted') throw new FlowFailure(`BootNotification answered ${boot.status}`, { boot });
    process.stderr.write('serving\n'); // the test sends its operations from here on
    await station.serve(count, 120000);
    return { served: station.serverCalls.length };
}

// --- run ---------------------------------------------------------------------------------------------------------

async function main() {
    const args = options();
    const client = new RPCClient({
        endpoint: args.url.replace(/\/+$/, ''),
        identity: args.identity,
        password: args.password ?? null,
        protocols: [args.protocol],
        strictMode: true,
        reconnect: false,
        callTimeoutMs: CALL_TIMEOUT_MS,
    });
    const station = new Station(client);
    const summary = { ok: false, protocol: args.protocol, identity: args.identity, strictMode: true };
    let failure = null;

    try {
        await client.connect();
        station.connected = true;
        if (client.protocol !== args.protocol) {
            throw new FlowFailure(`the server chose subprotocol ${client.protocol}, not ${args.protocol}`, {});
        }
        const result = args.serve
            ? await serveOperations(station, args.protocol, Number(args.serve))
            : args.protocol === 'ocpp1.6'
              ? await flow16(station, args['id-tag'])
              : await flow201(station, args['id-tag'], args.identity);
        Object.assign(summary, result);
    } catch (error) {
        failure = error instanceof FlowFailure ? { message: error.message, ...error.details } : describe(error);
    } finally {
        station.finished = true;
        await client.close({ code: 1000, reason: 'flow done', awaitPending: false }).catch(() => {});
    }

    // A failure seen only as an event (a CALL of the server breaking its schema, a malformed frame, an early
    // close) fails the run as much as a rejected call.
    if (!failure && station.validationFailures.length) failure = { message: 'strict validation failed' };
    if (!failure && station.protocolFailures.length) failure = { message: 'malformed frame or early close' };

    Object.assign(summary, {
        ok: failure === null,
        failure,
        validationFailures: station.validationFailures,
        protocolFailures: station.protocolFailures,
        serverCalls: station.serverCalls,
        calls: station.calls,
        answers: station.answers,
    });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (failure) process.stderr.write(`FAILED: ${failure.message}\n`);
    process.exitCode = failure ? 1 : 0;
}

await main();
