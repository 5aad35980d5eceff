package com.acmeshop.inventory;

import java.util.Optional;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

@Service
public class InventoryService {

    private final StockItemRepository repository;

    public InventoryService(StockItemRepository repository) {
        this.repository = repository;
    }

    @Transactional(readOnly = true)
    public Optional<StockItem> find(String sku) {
        return repository.findById(sku);
    }

    @Transactional
    public StockItem upsert(String sku, String name, int onHand) {
        StockItem item = repository.findById(sku).orElseGet(() -> new StockItem(sku, name, onHand));
        item.restock(name, onHand);
        return repository.save(item);
    }

    /** Reserves stock; empty when the SKU is unknown, false when there is not enough. */
    @Transactional
    public Optional<Boolean> reserve(String sku, int quantity) {
        return repository.findById(sku).map(item -> item.reserve(quantity));
    }

    @Transactional
    public void release(String sku, int quantity) {
        repository.findById(sku).ifPresent(item -> item.release(quantity));
    }

    @Transactional
    public boolean delete(String sku) {
        if (!repository.existsById(sku)) {
            return false;
        }
        repository.deleteById(sku);
        return true;
    }
}
