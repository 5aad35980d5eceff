package com.acmeshop.inventory;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;

@Entity
@Table(name = "stock_items")
public class StockItem {

    @Id
    @Column(length = 64)
    private String sku;

    @Column(nullable = false)
    private String name;

    @Column(name = "on_hand", nullable = false)
    private int onHand;

    @Column(nullable = false)
    private int reserved;

    @Version
    private long version;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt = Instant.now();

    protected StockItem() {
    }

    public StockItem(String sku, String name, int onHand) {
        this.sku = sku;
        this.name = name;
        this.onHand = onHand;
    }

    public int available() {
        return onHand - reserved;
    }

    /** Reserves quantity if enough stock is free; returns whether it did. */
    public boolean reserve(int quantity) {
        if (quantity <= 0 || available() < quantity) {
            return false;
        }
        reserved += quantity;
        updatedAt = Instant.now();
        return true;
    }

    public void release(int quantity) {
        reserved = Math.max(0, reserved - quantity);
        updatedAt = Instant.now();
    }

    public void restock(String name, int onHand) {
        this.name = name;
        this.onHand = onHand;
        this.updatedAt = Instant.now();
    }

    public String getSku() {
        return sku;
    }

    public String getName() {
        return name;
    }

    public int getOnHand() {
        return onHand;
    }

    public int getReserved() {
        return reserved;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }
}
