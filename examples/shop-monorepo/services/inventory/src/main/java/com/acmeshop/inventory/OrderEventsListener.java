package com.acmeshop.inventory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/** Reserves stock for order.created and releases it for order.cancelled (from the orders service). */
@Component
public class OrderEventsListener {

    private static final Logger log = LoggerFactory.getLogger(OrderEventsListener.class);

    private final InventoryService service;
    private final ObjectMapper mapper;

    public OrderEventsListener(InventoryService service, ObjectMapper mapper) {
        this.service = service;
        this.mapper = mapper;
    }

    @KafkaListener(topics = "${inventory.orders-topic}", groupId = "inventory")
    public void onOrderEvent(String payload) throws Exception {
        JsonNode event = mapper.readTree(payload);
        String type = event.path("type").asText();
        long orderId = event.path("order_id").asLong();
        for (JsonNode item : event.path("items")) {
            String sku = item.path("sku").asText();
            int quantity = item.path("quantity").asInt();
            switch (type) {
                case "order.created" -> {
                    boolean reserved = service.reserve(sku, quantity).orElse(false);
                    if (!reserved) {
                        log.warn("order {}: could not reserve {} x {}", orderId, quantity, sku);
                    }
                }
                case "order.cancelled" -> service.release(sku, quantity);
                default -> {
                    return;
                }
            }
        }
        log.info("applied {} for order {}", type, orderId);
    }
}
