"""OCPP 2.0.1 meterValue lists → neutral MeterValue inputs, with unitOfMeasure multipliers applied."""

import logging

from apps.ocpp.datatypes import default_unit, parse_decimal, parse_timestamp
from apps.ocpp.framing import RpcError
from apps.sessions.metering import MeterValue, SampledValue

logger = logging.getLogger(__name__)

DEFAULT_MEASURAND = "Energy.Active.Import.Register"


def meter_values_from_payload(items: list[dict], *, station_id: int, field: str = "meterValue") -> list[MeterValue]:
    """Every sampled value with measurand, phase, unit, context, location and signed data.

    `unitOfMeasure.multiplier` is a power of ten applied here, so a value of 12.5 with multiplier 3 in Wh is
    12500 Wh for the domain. A meterValue with an unreadable timestamp is left out and logged, not refused:
    refusing a TransactionEvent over one bad sample would make the station resend it forever.
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
            measurand = sample.get("measurand", DEFAULT_MEASURAND)
            unit_of_measure = sample.get("unitOfMeasure", {})
            value = parse_decimal(sample["value"], f"{where}.sampledValue[{sample_index}].value")
            multiplier = unit_of_measure.get("multiplier", 0)
            signed = sample.get("signedMeterValue", {})
            samples.append(
                SampledValue(
                    value=value.scaleb(multiplier) if multiplier else value,
                    measurand=measurand,
                    phase=sample.get("phase", ""),
                    unit=unit_of_measure.get("unit", default_unit(measurand)),
                    context=sample.get("context", "Sample.Periodic"),
                    location=sample.get("location", "Outlet"),
                    signed_data=signed.get("signedMeterData", ""),
                )
            )
        meter_values.append(MeterValue(timestamp=timestamp, sampled_values=samples))
    return meter_values
