"""OCPP 1.6 meterValue lists → neutral MeterValue inputs (values arrive as strings in 1.6)."""

import logging

from apps.ocpp.datatypes import default_unit, parse_decimal, parse_timestamp
from apps.ocpp.framing import RpcError
from apps.sessions.metering import MeterValue, SampledValue

logger = logging.getLogger(__name__)

DEFAULT_MEASURAND = "Energy.Active.Import.Register"


def meter_values_from_payload(items: list[dict], *, station_id: int, field: str) -> list[MeterValue]:
    """Every sampled value with its measurand, phase, unit, context and location.

    A value that is not a number (1.6 allows SignedData blobs in `value`) or a meterValue with an unreadable
    timestamp is left out and logged rather than refused: refusing would make the station retransmit a
    StopTransaction forever over one bad sample.
    """
    meter_values = []
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        try:
            timestamp = parse_timestamp(item["timestamp"], f"{where}.timestamp")
        except RpcError as error:
            logger.info("station %s: meter value left out: %s", station_id, error.description)
            continue
        samples = []
        for sample_index, sample in enumerate(item["sampledValue"]):
            if sample.get("format") == "SignedData":
                logger.info(
                    "station %s: signed 1.6 sample %s.sampledValue[%s] kept in the message log only",
                    station_id,
                    where,
                    sample_index,
                )
                continue
            measurand = sample.get("measurand", DEFAULT_MEASURAND)
            try:
                value = parse_decimal(sample["value"], f"{where}.sampledValue[{sample_index}].value")
            except RpcError as error:
                logger.info("station %s: sample left out: %s", station_id, error.description)
                continue
            samples.append(
                SampledValue(
                    value=value,
                    measurand=measurand,
                    phase=sample.get("phase", ""),
                    unit=sample.get("unit", default_unit(measurand)),
                    context=sample.get("context", "Sample.Periodic"),
                    location=sample.get("location", "Outlet"),
                )
            )
        if samples:
            meter_values.append(MeterValue(timestamp=timestamp, sampled_values=samples))
    return meter_values
